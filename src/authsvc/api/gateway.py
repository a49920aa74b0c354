"""Forward authentication for gateways (nginx `auth_request`, Traefik ForwardAuth).

The gateway asks on every API request whether it may pass. The answer is only ever 200 (with
the identity in `X-Auth-*` headers for the upstream) or 401: nginx turns any other status into
a 500 for the end user, so nothing else may escape, whatever the input.
"""

from __future__ import annotations

import logging
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Response
from fastapi.responses import JSONResponse

from authsvc.api.errors import BEARER_CHALLENGE, status_for
from authsvc.deps import Auth, bearer_scheme
from authsvc.errors import AuthError, NotAuthenticated

VERIFY_PATH = "/auth/verify"

log = logging.getLogger("authsvc.gateway")

router = APIRouter(tags=["gateway"])


def _unauthorized(exc: AuthError) -> Response:
    # The same body as every other route's 401, so clients parse one shape.
    _, detail = status_for(exc)
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
            "X-Auth-Subject, X-Auth-Username (percent-encoded UTF-8) and X-Auth-Session."
        },
        401: {"description": "Anything else"},
    },
)
async def verify(
    authenticator: Auth, token: Annotated[str | None, Depends(bearer_scheme)]
) -> Response:
    """Check the Bearer token of the request the gateway is about to pass on.

    Gateways call this with GET (nginx subrequests, Traefik ForwardAuth); any other method is
    presented as GET by RequestLimitsMiddleware, so a gateway that passes the original method
    still gets a 200 or a 401.
    """
    try:
        claims = await authenticator.authenticate(token)
    except AuthError as exc:
        return _unauthorized(exc)
    except Exception:
        # Fail closed: a bug here must not open the gateway, nor turn into a 500 there.
        log.exception("verify failed unexpectedly")
        return _unauthorized(NotAuthenticated())
    return Response(
        status_code=200,
        headers={
            "X-Auth-Subject": claims.user_id,
            # Header values are Latin-1 on the wire; usernames may be any script.
            "X-Auth-Username": quote(claims.username, safe="@.+-_"),
            "X-Auth-Session": claims.session_id,
            "Cache-Control": "no-store",
        },
    )
