"""Forward authentication for gateways (nginx `auth_request`, Traefik ForwardAuth).

The gateway asks on every API request whether it may pass. The answer is only ever 200 (with
the identity in `X-Auth-*` headers for the upstream), 401, or 403 when `?role=` names a role
the valid token lacks: nginx passes 401 and 403 on and turns any other status into a 500 for
the end user, so nothing else may escape, whatever the input. Two rules keep it so: the route
below answers every other failure of the check with 401, and `GatewayMiddleware` holds the
rules no route can: it answers every method and turns every refusal made before the route runs
(oversized headers or body) into 401.
"""

from __future__ import annotations

import logging
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import JSONResponse
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from authsvc.api.errors import BEARER_CHALLENGE, status_for
from authsvc.deps import AuthenticatorDep, bearer_scheme
from authsvc.errors import AuthError, NotAuthenticated, RoleRequired, SecondFactorRequired

VERIFY_PATH = "/auth/verify"

log = logging.getLogger("authsvc.gateway")

router = APIRouter(tags=["gateway"])


def _refused(exc: AuthError) -> Response:
    # The same bodies as every other route's 401 and 403, so clients parse one shape.
    _, detail = status_for(exc)
    if isinstance(exc, RoleRequired):
        # RFC 9470 §3 for a session that needs a stronger login; RFC 6750 §3.1 for a valid
        # token without the privilege asked for.
        error = (
            "insufficient_user_authentication"
            if isinstance(exc, SecondFactorRequired)
            else "insufficient_scope"
        )
        challenge = f'Bearer error="{error}"'
        return JSONResponse(
            {"detail": detail},
            status_code=403,
            headers={"WWW-Authenticate": challenge, "Cache-Control": "no-store"},
        )
    return JSONResponse(
        {"detail": detail},
        status_code=401,
        headers={**BEARER_CHALLENGE, "Cache-Control": "no-store"},
    )


@router.get(
    VERIFY_PATH,
    response_class=Response,
    responses={
        200: {
            "description": "The token is valid and its session live; the identity is in "
            "X-Auth-Subject, X-Auth-Username (percent-encoded UTF-8), X-Auth-Session, "
            "X-Auth-Roles (comma-separated, empty for none) and X-Auth-AMR (the RFC 8176 "
            "methods of the login, comma-separated)."
        },
        401: {"description": "No valid token of a live session, or anything else"},
        403: {
            "description": "A valid token without every role `role` names, or, with `mfa=1`, "
            "of a session opened with one factor"
        },
    },
)
async def verify(
    authenticator: AuthenticatorDep,
    token: Annotated[str | None, Depends(bearer_scheme)],
    role: Annotated[
        list[str] | None,
        Query(
            description="Roles the token must carry (all of them, when repeated); a name no "
            "role can have is held by nobody, so it gets 403 too"
        ),
    ] = None,
    mfa: Annotated[
        bool,
        Query(description="Pass only sessions opened with two factors or more (`amr` has `mfa`)"),
    ] = False,
) -> Response:
    """Check the Bearer token of the request the gateway is about to pass on.

    Gateways call this with GET (nginx subrequests, Traefik ForwardAuth); any other method is
    presented as GET by `GatewayMiddleware`, so a gateway that passes the original method
    still gets a 200 or a 401.
    """
    try:
        claims = await authenticator.authorize(token, roles=role or (), multi_factor=mfa)
    except AuthError as exc:
        return _refused(exc)
    except Exception:
        # Fail closed: a bug here must not open the gateway, nor turn into a 500 there.
        log.exception("verify failed unexpectedly")
        return _refused(NotAuthenticated())
    return Response(
        status_code=200,
        headers={
            "X-Auth-Subject": claims.user_id,
            # Header values are Latin-1 on the wire; usernames may be any script.
            "X-Auth-Username": quote(claims.username, safe="@.+-_"),
            "X-Auth-Session": claims.session_id,
            # Role names are ASCII by construction (roles.py), so they travel as they are.
            "X-Auth-Roles": ",".join(claims.roles),
            "X-Auth-AMR": ",".join(claims.amr),
            "Cache-Control": "no-store",
        },
    )


class GatewayMiddleware:
    """Hold the verify route to 200, 401 or 403 where the route itself cannot.

    Added outside the request limits, so their refusals (431, 413, 400) reach the gateway as
    401 with the same `{"detail": …}` body; the limits themselves know nothing of gateways.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != VERIFY_PATH:
            await self.app(scope, receive, send)
            return
        # auth_request relays the client's method, WebDAV and extensions included; the answer
        # depends only on the token, so every method is checked as a GET. Changed in place,
        # not copied: the metrics middleware outside reads the matched route from this scope.
        scope["method"] = "GET"

        async def send_only_200_401_or_403(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] not in (
                200,
                401,
                403,
            ):
                message["status"] = 401
                MutableHeaders(scope=message).update(BEARER_CHALLENGE)
            await send(message)

        await self.app(scope, receive, send_only_200_401_or_403)
