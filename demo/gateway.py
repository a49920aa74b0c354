"""The gateway's forward-auth rules, as the demo server applies them in front of its sample API.

They are the shipped nginx gateway's (deploy/nginx/default.conf.template), so the demo shows
what an app behind that gateway sees: authsvc's `GET /auth/verify` decides, with the request's
`Authorization` header and nothing else; a 200 lets the request through with the identity from
verify's `X-Auth-*` answer headers (never the token, a cookie, or identity headers the client
sent); a 401 becomes the gateway's own 401 (with authsvc's `WWW-Authenticate`), a 403 a 403,
anything else a 503, and the API is never called.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import httpx

IDENTITY_HEADERS = ("X-Auth-Subject", "X-Auth-Username", "X-Auth-Session")
VERIFY_TIMEOUT_SECONDS = 5.0
UPSTREAM_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    headers: dict[str, str]

    @classmethod
    def json(cls, status: int, body: object, headers: dict[str, str] | None = None) -> Answer:
        return cls(
            status,
            json.dumps(body).encode(),
            {"Content-Type": "application/json", **(headers or {})},
        )


def forward(
    method: str, path: str, authorization: str | None, *, authsvc_url: str, api_url: str
) -> Answer:
    """One request through the gateway rules: verify first, then the API or the refusal."""
    verify_headers = {"Authorization": authorization} if authorization is not None else {}
    unavailable = Answer.json(
        503, {"detail": "Authentication service unavailable"}, {"Retry-After": "5"}
    )
    try:
        verdict = httpx.get(
            f"{authsvc_url}/auth/verify", headers=verify_headers, timeout=VERIFY_TIMEOUT_SECONDS
        )
    except httpx.HTTPError:
        return unavailable
    if verdict.status_code == 401:
        challenge = verdict.headers.get("WWW-Authenticate", "Bearer")
        return Answer.json(401, {"detail": "Not authenticated"}, {"WWW-Authenticate": challenge})
    if verdict.status_code == 403:
        return Answer.json(403, {"detail": "Forbidden"})
    if verdict.status_code != 200:
        return unavailable
    identity = {name: verdict.headers.get(name, "") for name in IDENTITY_HEADERS}
    try:
        upstream = httpx.request(
            method,
            f"{api_url}{path}",
            headers={k: v for k, v in identity.items() if v},
            timeout=UPSTREAM_TIMEOUT_SECONDS,
        )
    except httpx.HTTPError:
        return Answer.json(502, {"detail": "Sample API unavailable"})
    return Answer(
        upstream.status_code,
        upstream.content,
        {"Content-Type": upstream.headers.get("Content-Type", "application/json")},
    )
