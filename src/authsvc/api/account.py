"""The account itself: registration, the current user, password changes."""

from __future__ import annotations

from fastapi import APIRouter, Depends, status

from authsvc.api.cookies import no_store
from authsvc.api.schemas import BODY_ERRORS, PasswordChangeIn, RegisterIn, UserOut
from authsvc.deps import AccountsDep, ClientDep, CurrentClaimsDep, SessionsDep

router = APIRouter(prefix="/auth", tags=["account"], dependencies=[Depends(no_store)])


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    responses={
        403: {"description": "Registration is switched off"},
        409: {"description": "Username, or a look-alike of it, is taken"},
        422: {"description": "Username or password rejected by the policy"},
        **BODY_ERRORS,
        429: {"description": "Too many registrations from this address; see Retry-After"},
        503: {"description": "Too many password hashes waiting; see Retry-After"},
    },
)
async def register(body: RegisterIn, accounts: AccountsDep, client: ClientDep) -> UserOut:
    """Create an account. Logging in is a separate step."""
    user = await accounts.register(body.username, body.password, email=body.email, ip=client.ip)
    return UserOut.from_record(user)


@router.get("/me", responses={401: {"description": "Not authenticated"}})
async def me(claims: CurrentClaimsDep, accounts: AccountsDep) -> UserOut:
    """The user the access token belongs to."""
    return UserOut.from_record(await accounts.profile(claims.user_id))


@router.post(
    "/password",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={
        401: {"description": "Not authenticated, or the current password is wrong"},
        409: {"description": "The password was changed by another request meanwhile"},
        429: {"description": "Too many password checks; see Retry-After"},
        503: {"description": "Too many password hashes waiting; see Retry-After"},
        **BODY_ERRORS,
        422: {"description": "New password rejected by the policy"},
    },
)
async def change_password(
    body: PasswordChangeIn, claims: CurrentClaimsDep, sessions: SessionsDep, client: ClientDep
) -> None:
    """Change the password; every other session of the user ends, this one stays."""
    await sessions.change_password(claims, body.current_password, body.new_password, client)
