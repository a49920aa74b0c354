"""TOTP for the signed-in user: status, setup, confirmation, removal (the second login step
itself is POST /auth/login/mfa, beside the login in api/auth.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, status

from authsvc.api import responses
from authsvc.api.cookies import no_store
from authsvc.api.mfa_schemas import (
    MfaStatusOut,
    RecoveryCodesOut,
    TotpConfirmIn,
    TotpDeleteIn,
    TotpSetupIn,
    TotpSetupOut,
)
from authsvc.deps import ClientDep, CurrentClaimsDep, TotpDep

router = APIRouter(prefix="/auth/mfa", tags=["second factors"], dependencies=[Depends(no_store)])


@router.get("", responses=responses.NOT_AUTHENTICATED)
async def mfa_status(claims: CurrentClaimsDep, totp: TotpDep) -> MfaStatusOut:
    """Whether TOTP is enabled, how many recovery codes are left, what the login offers."""
    return MfaStatusOut.from_status(await totp.status(claims))


@router.post("/totp/setup", responses=responses.TOTP_SETUP)
async def totp_setup(
    claims: CurrentClaimsDep,
    totp: TotpDep,
    client: ClientDep,
    body: Annotated[TotpSetupIn | None, Body()] = None,
) -> TotpSetupOut:
    """A new secret for an authenticator app (replacing an unconfirmed one); the current
    password is needed unless this session's login was within the last five minutes."""
    password = body.current_password if body is not None else None
    return TotpSetupOut.from_enrolment(await totp.setup(claims, password, client))


@router.post("/totp/confirm", responses=responses.TOTP_CONFIRM)
async def totp_confirm(
    body: TotpConfirmIn, claims: CurrentClaimsDep, totp: TotpDep, client: ClientDep
) -> RecoveryCodesOut:
    """Enable TOTP with a first code from the app; answers ten recovery codes, shown once."""
    return RecoveryCodesOut(recovery_codes=await totp.confirm(claims, body.code, client))


@router.delete("/totp", status_code=status.HTTP_204_NO_CONTENT, responses=responses.TOTP_DELETE)
async def totp_delete(
    body: TotpDeleteIn, claims: CurrentClaimsDep, totp: TotpDep, client: ClientDep
) -> None:
    """Remove TOTP and its recovery codes, with the current password (or a code while
    another second factor remains)."""
    await totp.disable(
        claims, code=body.code, current_password=body.current_password, client=client
    )
