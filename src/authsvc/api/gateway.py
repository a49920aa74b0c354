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

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from starlette.datastructures import MutableHeaders
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from authsvc.api.errors import BEARER_CHALLENGE
from authsvc.api.forward_auth import Answer, decide
from authsvc.api.lean_login import LOGIN_PATH
from authsvc.api.lean_refresh import REFRESH_PATH
from authsvc.deps import AuthenticatorDep, bearer_scheme

VERIFY_PATH = "/auth/verify"

router = APIRouter(tags=["gateway"])


class _AnswerResponse(Response):
    """An `Answer` as a Starlette response, for the route below."""

    def __init__(self, answer: Answer) -> None:
        super().__init__(content=answer.body, status_code=answer.status)
        self.raw_headers = [*answer.headers]


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
    still gets a 200 or a 401. `create_app` answers this path with `ForwardAuthEndpoint`
    (forward_auth.py), which gives the same answers without FastAPI's dependency solving;
    this function answers it when the router is reached instead.
    """
    return _AnswerResponse(await decide(authenticator, token, roles=role or (), multi_factor=mfa))


def verify_route() -> BaseRoute:
    """The route above, as the router would set it in the scope of a request it matched."""
    return next(route for route in router.routes if getattr(route, "path", None) == VERIFY_PATH)


class GatewayMiddleware:
    """Hold the verify route to 200, 401 or 403 where the route itself cannot.

    Added outside the request limits, so their refusals (431, 413, 400) reach the gateway as
    401 with the same `{"detail": …}` body; the limits themselves know nothing of gateways.
    With an `endpoint` (`ForwardAuthEndpoint` behind its own request limits), the verify path
    goes straight to it instead of through the layers inside and the router; with `refresh`
    (`RefreshEndpoint`, lean_refresh.py, likewise), so does `POST /auth/refresh`; with `login`,
    which makes the endpoint (`LoginEndpoint`, lean_login.py) from the app inside, to which it
    leaves what it does not answer, so does `POST /auth/login`.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        endpoint: ASGIApp | None = None,
        refresh: ASGIApp | None = None,
        login: Callable[[ASGIApp], ASGIApp] | None = None,
    ) -> None:
        self.app = app
        self.endpoint = endpoint if endpoint is not None else app
        lean = {REFRESH_PATH: refresh, LOGIN_PATH: login(app) if login is not None else None}
        self.lean_posts = {path: lean_app for path, lean_app in lean.items() if lean_app}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if path != VERIFY_PATH:
            # Only POST: the router answers every other method (405 with Allow) as before.
            lean = self.lean_posts.get(path) if scope["method"] == "POST" else None
            await (lean or self.app)(scope, receive, send)
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

        await self.endpoint(scope, receive, send_only_200_401_or_403)
