"""Password reset: ask for a link by address, then set a new password with its token."""

from __future__ import annotations

from fastapi import APIRouter, Depends, status

from authsvc.api import responses
from authsvc.api.cookies import no_store
from authsvc.api.schemas import ForgotPasswordIn, ForgotPasswordOut, ResetPasswordIn
from authsvc.deps import ClientDep, PasswordResetDep

router = APIRouter(prefix="/auth/password", tags=["account"], dependencies=[Depends(no_store)])


@router.post(
    "/forgot",
    status_code=status.HTTP_202_ACCEPTED,
    responses=responses.PASSWORD_FORGOT,
)
async def forgot_password(
    body: ForgotPasswordIn, reset: PasswordResetDep, client: ClientDep
) -> ForgotPasswordOut:
    """Mail a reset link to the accounts with this address. The answer is the same, and as
    fast, whether or not one exists."""
    await reset.forgot(str(body.email), client)
    return ForgotPasswordOut()


@router.post(
    "/reset",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses.PASSWORD_RESET,
)
async def reset_password(body: ResetPasswordIn, reset: PasswordResetDep, client: ClientDep) -> None:
    """Set a new password with the token from the mailed link (the SPA reads it from the
    link's fragment). Every session of the account ends; a notice is mailed."""
    await reset.reset(body.token, body.new_password, client)
