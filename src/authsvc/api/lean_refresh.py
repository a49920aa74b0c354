"""The refresh endpoint that browsers call every few minutes, without FastAPI's machinery.

`POST /auth/refresh` has no parameters to validate: it reads headers and one cookie, rotates,
and answers a token with a new cookie. Matching every route and solving its dependency tree
cost more CPU than the rotation's own code, so `GatewayMiddleware` (gateway.py) sends the
POST straight to `RefreshEndpoint`, behind the request limits and inside every other
middleware, as it does with the verify path. The endpoint calls what the route in auth.py
calls, in the same order (`check_csrf_header`, `get_client`, `RefreshCookie.read`,
`SessionService.rotate`, `no_store`, `RefreshCookie.answer`), builds the answer as FastAPI
does, and answers domain errors through the same table as the exception handlers. Other
methods on the path, and the path under a root path, still reach the route.
"""

from __future__ import annotations

from fastapi import Request, Response
from starlette.routing import BaseRoute
from starlette.types import Receive, Scope, Send

from authsvc.api.cookies import RefreshCookie
from authsvc.api.csrf import check_csrf_header
from authsvc.api.errors import auth_error_response
from authsvc.api.lean import route_answer
from authsvc.container import Services
from authsvc.deps import get_client
from authsvc.errors import AuthError

REFRESH_PATH = "/auth/refresh"


class RefreshEndpoint:
    """ASGI endpoint of `POST /auth/refresh`: the route's answers, byte for byte."""

    def __init__(self, cookie: RefreshCookie, *, route: BaseRoute | None) -> None:
        self._cookie = cookie
        # Set in the scope as the router would: the metrics middleware labels by its path.
        self._route = route

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._route is not None:
            scope["route"] = self._route
        request = Request(scope, receive)
        services: Services = request.app.state.services
        try:
            response = await self._rotate(request, services)
        except AuthError as exc:
            # Anything else propagates, as from the route, to the handler of last resort.
            response = auth_error_response(exc)
        await response(scope, receive, send)

    async def _rotate(self, request: Request, services: Services) -> Response:
        check_csrf_header(request.headers, services.core.settings)
        client = await get_client(request, services)
        presented = await self._cookie.read(request, services.observer)
        issued = await services.sessions.rotate(presented, client)
        return await route_answer(lambda response: self._cookie.answer(response, issued))
