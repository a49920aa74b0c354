"""The account itself: registration, the current user, password changes."""

from __future__ import annotations

from fastapi import APIRouter, Depends, status
from starlette.routing import BaseRoute

from authsvc.api import responses
from authsvc.api.cookies import no_store
from authsvc.api.schemas import PasswordChangeIn, RegisterIn, UserOut
from authsvc.deps import AccountsDep, ClientDep, CurrentClaimsDep, PasswordChangesDep

ME_PATH = "/auth/me"

router = APIRouter(prefix="/auth", tags=["account"], dependencies=[Depends(no_store)])


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    responses=responses.REGISTER,
)
async def register(body: RegisterIn, accounts: AccountsDep, client: ClientDep) -> UserOut:
    """Create an account. Logging in is a separate step."""
    user = await accounts.register(body.username, body.password, email=body.email, ip=client.ip)
    return UserOut.from_record(user)


@router.get(ME_PATH.removeprefix("/auth"), responses=responses.NOT_AUTHENTICATED)
async def me(claims: CurrentClaimsDep, accounts: AccountsDep) -> UserOut:
    """The user the access token belongs to."""
    return UserOut.from_record(await accounts.profile(claims.user_id))


def me_route() -> BaseRoute:
    """The route above, as the router would set it in the scope of a request it matched."""
    return next(route for route in router.routes if getattr(route, "path", None) == ME_PATH)


@router.post(
    "/password",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses.PASSWORD_CHANGE,
)
async def change_password(
    body: PasswordChangeIn,
    claims: CurrentClaimsDep,
    password_changes: PasswordChangesDep,
    client: ClientDep,
) -> None:
    """Change the password; every other session of the user ends, this one stays."""
    await password_changes.change_password(claims, body.current_password, body.new_password, client)
