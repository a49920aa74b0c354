"""The forward-auth answer, and the lean endpoint that gives it to gateways.

A gateway asks `/auth/verify` before every request it passes on, so this is the hottest path
of the service, and its inputs are few: the Bearer header and the `role`/`mfa` query. Routing
through FastAPI (matching every route, solving the dependency tree, validating the query into
a model) cost more than the check itself. `ForwardAuthEndpoint` reads those inputs from the
ASGI scope as FastAPI would (the same Bearer parsing, Starlette's query parsing, pydantic's
bool rules), asks the one `Authenticator`, and sends header lists built once.

`GatewayMiddleware` (gateway.py) sends the verify path straight here, behind the request
limits and inside the request-id, access-log and metrics middlewares, which do for it what
they do for every route. The FastAPI route in gateway.py documents the path in OpenAPI and
gives the same answers through `decide` when the router reaches it (under a root path).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from urllib.parse import quote

from fastapi.security.utils import get_authorization_scheme_param
from pydantic import TypeAdapter, ValidationError
from starlette.datastructures import QueryParams
from starlette.routing import BaseRoute
from starlette.types import Receive, Scope, Send

from authsvc.api.errors import status_for
from authsvc.container import Services
from authsvc.errors import (
    AuthError,
    InvalidToken,
    NotAuthenticated,
    RoleRequired,
    SecondFactorRequired,
    SessionEnded,
)
from authsvc.services.authenticator import Authenticator
from authsvc.tokens import AccessClaims

log = logging.getLogger("authsvc.gateway")

HeaderRows = tuple[tuple[bytes, bytes], ...]

_NO_STORE = (b"cache-control", b"no-store")


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: HeaderRows  # every header of the answer, content-length included
    body: bytes = b""

    async def send(self, send: Send) -> None:
        # A fresh list: the middlewares outside add their headers to it in place.
        await send(
            {"type": "http.response.start", "status": self.status, "headers": [*self.headers]}
        )
        await send({"type": "http.response.body", "body": self.body})


async def decide(
    authenticator: Authenticator, token: str | None, *, roles: Iterable[str], multi_factor: bool
) -> Answer:
    """200 with the identity, 401, or 403: never anything else, whatever goes wrong."""
    try:
        claims = await authenticator.authorize(token, roles=roles, multi_factor=multi_factor)
    except AuthError as exc:
        return refusal(exc)
    except Exception:
        # Fail closed: a bug here must not open the gateway, nor turn into a 500 there.
        log.exception("verify failed unexpectedly")
        return refusal(NotAuthenticated())
    return granted(claims)


def granted(claims: AccessClaims) -> Answer:
    return Answer(
        200,
        (
            (b"content-length", b"0"),
            (b"x-auth-subject", claims.user_id.encode("latin-1")),
            # Header values are Latin-1 on the wire; usernames may be any script.
            (b"x-auth-username", quote(claims.username, safe="@.+-_").encode("ascii")),
            (b"x-auth-session", claims.session_id.encode("latin-1")),
            # Role names are ASCII by construction (roles.py), so they travel as they are.
            (b"x-auth-roles", ",".join(claims.roles).encode("latin-1")),
            (b"x-auth-amr", ",".join(claims.amr).encode("latin-1")),
            _NO_STORE,
        ),
    )


def refusal(exc: AuthError) -> Answer:
    """The same bodies as every other route's 401 and 403, so clients parse one shape."""
    known = _REFUSALS.get(type(exc))
    return known if known is not None else _refusal(exc)


def _refusal(exc: AuthError) -> Answer:
    _, detail = status_for(exc)
    body = json.dumps({"detail": detail}, separators=(",", ":")).encode()
    if isinstance(exc, RoleRequired):
        # RFC 9470 §3 for a session that needs a stronger login; RFC 6750 §3.1 for a valid
        # token without the privilege asked for.
        error = (
            "insufficient_user_authentication"
            if isinstance(exc, SecondFactorRequired)
            else "insufficient_scope"
        )
        status, challenge = 403, f'Bearer error="{error}"'.encode()
    else:
        status, challenge = 401, b"Bearer"
    headers = (
        (b"content-length", str(len(body)).encode()),
        (b"content-type", b"application/json"),
        (b"www-authenticate", challenge),
        _NO_STORE,
    )
    return Answer(status, headers, body)


# What `Authenticator.authorize` raises, answered from answers built once.
_REFUSALS: Mapping[type[AuthError], Answer] = MappingProxyType(
    {
        kind: _refusal(kind())
        for kind in (
            NotAuthenticated,
            InvalidToken,
            SessionEnded,
            RoleRequired,
            SecondFactorRequired,
        )
    }
)


class ForwardAuthEndpoint:
    """ASGI endpoint of `/auth/verify`: any method, answered as the GET route documents."""

    def __init__(self, *, route: BaseRoute | None) -> None:
        # Set in the scope as the router would: the metrics middleware labels by its path.
        self._route = route
        self._flag = TypeAdapter(bool)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._route is not None:
            scope["route"] = self._route
        try:
            services: Services = scope["app"].state.services
            token = bearer_token(scope["headers"])
            roles: list[str] = []
            multi_factor = False
            if scope["query_string"]:
                query = QueryParams(scope["query_string"])
                roles = query.getlist("role")
                flag = query.get("mfa")
                multi_factor = flag is not None and self._flag.validate_python(flag)
            answer = await decide(
                services.authenticator, token, roles=roles, multi_factor=multi_factor
            )
        except ValidationError:
            answer = refusal(NotAuthenticated())  # a malformed `mfa` is no pass
        except Exception:
            log.exception("verify failed unexpectedly")
            answer = refusal(NotAuthenticated())
        await answer.send(send)


def bearer_token(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """The token of the first Authorization header, as FastAPI's OAuth2PasswordBearer reads it."""
    for name, value in headers:
        if name == b"authorization":
            scheme, param = get_authorization_scheme_param(value.decode("latin-1"))
            return param if scheme.lower() == "bearer" else None
    return None
