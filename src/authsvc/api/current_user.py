"""`GET /auth/me` answered without the router when it succeeds.

With the profile cached, FastAPI's share of `/auth/me` (matching the route among all the
others, solving the no-store, Bearer, claims and services dependencies, validating the
response model) was most of its CPU. A successful answer depends only on the Bearer token:
`CurrentUserMiddleware` authenticates it with the one `Authenticator`, takes the profile from
`AccountService.profile`, and sends what the route would, byte for byte (a test compares
them). A domain error (a bad token, an ended session, an unavailable store) is answered
through the same table as the route's exception handler, once: the route never runs again
to repeat the token check and the store read. A request without a Bearer token, and any
other method, still reach the route.

It sits inside the request limits and every other middleware, which do for it what they do
for every route, and sets the matched route in the scope as the router would, so the metrics
label stays `/auth/me`.
"""

from __future__ import annotations

from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from authsvc.api.account import ME_PATH
from authsvc.api.errors import auth_error_response
from authsvc.api.forward_auth import bearer_token
from authsvc.api.schemas import UserOut
from authsvc.container import Services
from authsvc.errors import AuthError

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
        token = bearer_token(scope["headers"])
        if token is None:
            await self.app(scope, receive, send)
            return
        if self._route is not None:
            scope["route"] = self._route
        try:
            body = await _profile_body(scope["app"].state.services, token)
        except AuthError as exc:
            # Anything else propagates, as from the route, to the handler of last resort.
            await auth_error_response(exc)(scope, receive, send)
            return
        headers = [(b"content-length", str(len(body)).encode()), *_HEADERS]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


async def _profile_body(services: Services, token: str) -> bytes:
    """The route's 200 body. Raises: AuthError as the route's dependencies and body would."""
    claims = await services.authenticator.authenticate(token)
    profile = await services.accounts.profile(claims.user_id)
    return UserOut.from_record(profile).model_dump_json().encode()
