"""`GET /auth/me` answered without the router when it succeeds.

With the profile cached, FastAPI's share of `/auth/me` (matching the route among all the
others, solving the no-store, Bearer, claims and services dependencies, validating the
response model) was most of its CPU. A successful answer depends only on the Bearer token:
`CurrentUserMiddleware` authenticates it with the one `Authenticator`, takes the profile from
`AccountService.profile`, and sends what the route would, byte for byte (a test compares
them). Every other outcome (no or a bad token, an ended session, an unavailable store, any
error) is left to the route, which runs as before, so refusals and errors keep their one
shape and their handlers.

It sits inside the request limits and every other middleware, which do for it what they do
for every route, and sets the matched route in the scope as the router would, so the metrics
label stays `/auth/me`.
"""

from __future__ import annotations

from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from authsvc.api.account import ME_PATH
from authsvc.api.forward_auth import bearer_token
from authsvc.api.schemas import UserOut
from authsvc.container import Services

# After content-length: the headers of the route's answer, its `no_store` dependency's included.
_HEADERS = (
    (b"content-type", b"application/json"),
    (b"cache-control", b"no-store"),
    (b"pragma", b"no-cache"),
)


class CurrentUserMiddleware:
    def __init__(self, app: ASGIApp, *, route: BaseRoute | None) -> None:
        self.app = app
        # Set in the scope as the router would: the metrics middleware labels by its path.
        self._route = route

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != ME_PATH or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        body = await _profile_body(scope)
        if body is None:
            await self.app(scope, receive, send)
            return
        if self._route is not None:
            scope["route"] = self._route
        headers = [(b"content-length", str(len(body)).encode()), *_HEADERS]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


async def _profile_body(scope: Scope) -> bytes | None:
    """The route's 200 body; None for anything the route must answer itself."""
    token = bearer_token(scope["headers"])
    if token is None:
        return None
    try:
        services: Services = scope["app"].state.services
        claims = await services.authenticator.authenticate(token)
        profile = await services.accounts.profile(claims.user_id)
    except Exception:  # the route runs again and answers it, logged if need be
        return None
    return UserOut.from_record(profile).model_dump_json().encode()
