"""E-mail verification: the link's token comes back here, and a new link can be asked for."""

from __future__ import annotations

from fastapi import APIRouter, Depends, status

from authsvc.api import responses
from authsvc.api.cookies import no_store
from authsvc.api.schemas import EmailTokenIn
from authsvc.deps import ClientDep, CurrentClaimsDep, EmailVerificationDep

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
    link's fragment and posts it here)."""
    await verification.verify(body.token, client)


@router.post(
    "/verify/resend",
    status_code=status.HTTP_202_ACCEPTED,
    responses=responses.EMAIL_RESEND,
)
async def resend_verification(claims: CurrentClaimsDep, verification: EmailVerificationDep) -> None:
    """Mail a new verification link to the current user's address; earlier links stop working."""
    await verification.resend(claims.user_id)
