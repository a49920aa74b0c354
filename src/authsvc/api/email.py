"""E-mail: the link's token comes back here (a verification or a change of address), a new
verification link can be asked for, and a change of address."""

from __future__ import annotations

from fastapi import APIRouter, Depends, status

from authsvc.api import responses
from authsvc.api.cookies import no_store
from authsvc.api.schemas import EmailChangeIn, EmailTokenIn
from authsvc.deps import ClientDep, CurrentClaimsDep, EmailChangeDep, EmailVerificationDep

router = APIRouter(prefix="/auth/email", tags=["account"], dependencies=[Depends(no_store)])


@router.post(
    "/verify",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**responses.EMAIL_VERIFY, **responses.BODY_ERRORS},
)
async def verify_email(
    body: EmailTokenIn, verification: EmailVerificationDep, client: ClientDep
) -> None:
    """Confirm an address with the token from the mailed link (the SPA reads it from the
    link's fragment and posts it here); the link of a change of address makes the address
    the account's, and the old address is told."""
    await verification.verify(body.token, client)


@router.post(
    "/verify/resend",
    status_code=status.HTTP_202_ACCEPTED,
    responses=responses.EMAIL_RESEND,
)
async def resend_verification(claims: CurrentClaimsDep, verification: EmailVerificationDep) -> None:
    """Mail a new verification link to the current user's address; earlier links stop working."""
    await verification.resend(claims.user_id)


@router.post("", status_code=status.HTTP_202_ACCEPTED, responses=responses.EMAIL_CHANGE)
async def change_email(
    body: EmailChangeIn, claims: CurrentClaimsDep, changes: EmailChangeDep, client: ClientDep
) -> None:
    """Mail the new address a link; the account's address changes once it is used."""
    await changes.request(claims, str(body.email), body.current_password, client)
