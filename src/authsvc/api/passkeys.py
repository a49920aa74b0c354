"""Passkeys (WebAuthn): register one, list, rename and remove them, and log in with one.

Each ceremony is two calls: options (a challenge, stored for any replica to check), then the
browser's answer. Every route answers 404 while passkeys are off (production without
WEBAUTHN_RP_ID).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path, Response, status

from authsvc.api import responses
from authsvc.api.cookies import RefreshCookie, no_store
from authsvc.api.csrf import SESSION_OPENING
from authsvc.api.passkey_schemas import (
    CeremonyOut,
    LoginIn,
    PasskeyOut,
    PasskeysOut,
    RegisterIn,
    RemoveIn,
    RenameIn,
)
from authsvc.api.schemas import TokenOut
from authsvc.deps import ClientDep, CurrentClaimsDep, PasskeyLoginDep, PasskeysDep

PasskeyId = Annotated[str, Path(max_length=64)]


async def require_passkeys(passkeys: PasskeysDep) -> None:
    """Dependency of every route, ahead of authentication. Raises: PasskeysOff."""
    passkeys.ceremonies()


def build_router(cookie: RefreshCookie) -> APIRouter:
    """The routes, with the refresh cookie a passkey login sets."""
    router = APIRouter(
        prefix="/auth/passkeys",
        tags=["passkeys"],
        dependencies=[Depends(require_passkeys), Depends(no_store)],
        responses=responses.PASSKEYS_OFF,
    )

    @router.post("/register/options", responses=responses.NOT_AUTHENTICATED)
    async def registration_options(claims: CurrentClaimsDep, passkeys: PasskeysDep) -> CeremonyOut:
        """Options for navigator.credentials.create(): a discoverable credential with user
        verification, excluding the passkeys the user has already."""
        return CeremonyOut.from_start(await passkeys.registration_options(claims))

    @router.post(
        "/register/verify",
        status_code=status.HTTP_201_CREATED,
        responses=responses.PASSKEY_REGISTER,
    )
    async def register(
        body: RegisterIn, claims: CurrentClaimsDep, passkeys: PasskeysDep, client: ClientDep
    ) -> PasskeyOut:
        """Keep the passkey the browser created for a registration challenge."""
        passkey = await passkeys.register(
            claims, body.challenge_id, body.credential, name=body.name, client=client
        )
        return PasskeyOut.from_record(passkey)

    @router.get("", responses=responses.NOT_AUTHENTICATED)
    async def list_passkeys(claims: CurrentClaimsDep, passkeys: PasskeysDep) -> PasskeysOut:
        """The current user's passkeys, oldest first."""
        return PasskeysOut(
            passkeys=[PasskeyOut.from_record(p) for p in await passkeys.list(claims)]
        )

    @router.patch("/{passkey_id}", responses=responses.PASSKEY_CHANGE)
    async def rename(
        passkey_id: PasskeyId,
        body: RenameIn,
        claims: CurrentClaimsDep,
        passkeys: PasskeysDep,
        client: ClientDep,
    ) -> PasskeyOut:
        """Rename one of the current user's passkeys."""
        return PasskeyOut.from_record(await passkeys.rename(claims, passkey_id, body.name, client))

    @router.delete(
        "/{passkey_id}",
        status_code=status.HTTP_204_NO_CONTENT,
        responses=responses.PASSKEY_REMOVE,
    )
    async def remove(
        passkey_id: PasskeyId,
        claims: CurrentClaimsDep,
        passkeys: PasskeysDep,
        client: ClientDep,
        body: Annotated[RemoveIn | None, Body()] = None,
    ) -> None:
        """Remove one of the current user's passkeys; the account's last second factor only
        with `current_password`."""
        password = body.current_password if body is not None else None
        await passkeys.remove(claims, passkey_id, current_password=password, client=client)

    # No Bearer token here: these open a session, so they take the cross-site checks of
    # /auth/login.
    @router.post(
        "/login/options", responses=responses.PASSKEY_LOGIN_OPTIONS, dependencies=SESSION_OPENING
    )
    async def login_options(login: PasskeyLoginDep, client: ClientDep) -> CeremonyOut:
        """Options for navigator.credentials.get() with any of the RP's passkeys: no username."""
        return CeremonyOut.from_start(await login.options(client))

    @router.post("/login/verify", responses=responses.PASSKEY_LOGIN, dependencies=SESSION_OPENING)
    async def login(
        body: LoginIn, response: Response, login: PasskeyLoginDep, client: ClientDep
    ) -> TokenOut:
        """Check the browser's answer to a login challenge; answer an access token and set
        the refresh cookie, as /auth/login does."""
        issued = await login.login(body.challenge_id, body.credential, client)
        return cookie.answer(response, issued)

    return router
