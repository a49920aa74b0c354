"""The password login endpoint, without FastAPI's machinery for the bodies a login page sends.

Matching the route, solving its dependency tree and validating the answer against the response
model cost the event loop more CPU than the login's own work outside the hash, CPU that the
hashing threads then lack. So `GatewayMiddleware` (gateway.py) sends `POST /auth/login` here,
behind the request limits and inside every other middleware, as it does with refresh. A body
declared as JSON that is a valid `LoginIn` is answered here, calling what the route in auth.py
calls in the same order (`no_store`, `check_allowed_origin`, `get_client`, `TwoStepLogin.begin`,
`first_step_answer`) and answering domain errors through the same table as the exception
handlers. Any other body goes on to the route, replayed, so every 422 is FastAPI's own; so
does every request while the app has dependency overrides, which only the route applies.
"""

from __future__ import annotations

import json

from fastapi import Request
from pydantic import ValidationError
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from authsvc.api.auth import first_step_answer
from authsvc.api.cookies import RefreshCookie
from authsvc.api.csrf import check_allowed_origin
from authsvc.api.errors import auth_error_response
from authsvc.api.lean import route_answer
from authsvc.api.schemas import LoginIn
from authsvc.container import Services
from authsvc.deps import get_client
from authsvc.errors import AuthError
from authsvc.middleware import replaying

LOGIN_PATH = "/auth/login"


class LoginEndpoint:
    """ASGI endpoint of `POST /auth/login`: the route's answers, byte for byte; `routed` (the
    app behind the gateway) answers the bodies it leaves to the route."""

    def __init__(self, cookie: RefreshCookie, *, route: BaseRoute | None, routed: ASGIApp) -> None:
        self._cookie = cookie
        # Set in the scope as the router would: the metrics middleware labels by its path.
        self._route = route
        self._routed = routed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        body = await request.body()
        # Dependency overrides (tests swap the services so) are the router's to apply.
        credentials = None if request.app.dependency_overrides else _credentials(request, body)
        if credentials is None:
            await self._routed(scope, replaying(body, receive), send)
            return
        if self._route is not None:
            scope["route"] = self._route
        services: Services = request.app.state.services
        try:
            check_allowed_origin(request.headers, services.core.settings)
            client = await get_client(request, services)
            begun = await services.login.begin(credentials.username, credentials.password, client)
            response = await route_answer(
                lambda set_by_route: first_step_answer(self._cookie, set_by_route, begun)
            )
        except AuthError as exc:
            # Anything else propagates, as from the route, to the handler of last resort.
            response = auth_error_response(exc)
        await response(scope, receive, send)


def _credentials(request: Request, body: bytes) -> LoginIn | None:
    """The body as the route would read it, if it is JSON the route accepts; else None."""
    content_type = request.headers.get("content-type", "")
    if content_type.partition(";")[0].strip().lower() != "application/json":
        return None
    try:
        return LoginIn.model_validate(json.loads(body))
    except (ValueError, ValidationError):  # JSONDecodeError and UnicodeDecodeError included
        return None
