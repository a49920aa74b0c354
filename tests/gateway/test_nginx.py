"""The shipped nginx template in front of a real authsvc and a recording app, over loopback.

Every request goes to nginx's port; what the protected app received is read back from the
recording app, so "the app saw nothing" and "the app saw exactly these headers" are facts.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from authsvc.api.client import CLIENT_PATH, client_parts, client_source
from tests.gateway.conftest import (
    TEMPLATE,
    TEMPLATE_VARIABLES,
    Gateway,
    NginxFactory,
    RecordedRequest,
    RecordingApp,
    render_template,
)
from tests.support.http import (
    COOKIE,
    CSRF_HEADER,
    PASSWORD,
    Tokens,
    bearer,
    cookie_header,
    login_sync,
    only_set_cookie,
    refresh_sync,
    register_sync,
    token_pair,
)
from tests.support.polling import eventually_sync
from tests.support.processes import free_port

IDENTITY_HEADERS = ("X-Auth-Subject", "X-Auth-Username", "X-Auth-Session")
# nginx's $request_id: what the gateway puts in X-Request-ID when the client's is unfit.
GENERATED_REQUEST_ID = re.compile(r"[0-9a-f]{32}")
LOG_WAIT_SECONDS = 2.0


@pytest.fixture
def client(gateway: Gateway) -> Iterator[httpx.Client]:
    with gateway.client() as c:
        yield c


def new_user(client: httpx.Client) -> tuple[dict[str, Any], Tokens]:
    """Register and log in through the gateway's /auth/ passthrough."""
    username = f"gw-{uuid.uuid4().hex[:12]}"
    user = register_sync(client, username)
    return user, login_sync(client, username)


def current_session_id(client: httpx.Client, tokens: Tokens) -> str:
    response = client.get("/auth/sessions", headers=tokens.bearer)
    assert response.status_code == 200, response.text
    [current] = [s for s in response.json()["sessions"] if s["current"]]
    session_id: str = current["id"]
    return session_id


def assert_refused(response: httpx.Response) -> None:
    """The gateway's 401: one Bearer challenge, a JSON body, nothing cacheable."""
    assert response.status_code == 401, response.text
    assert response.headers.get_list("www-authenticate") == ["Bearer"]
    assert response.headers.get("cache-control") == "no-store"
    assert response.json() == {"detail": "Not authenticated"}


def only_request(gateway: Gateway) -> RecordedRequest:
    received = gateway.app.received
    assert len(received) == 1, received
    return received[0]


def verify_calls(gateway: Gateway, request_id: str) -> list[str]:
    """authsvc's access-log lines for verify calls made under `request_id`, waited for briefly."""

    def logged() -> list[str]:
        lines = [
            f"{event['method']} {event['path']} {event['status']}"
            for event in gateway.authsvc.events()
            if event.get("logger") == "authsvc.access"
            and event.get("request_id") == request_id
            and event["path"] == "/auth/verify"
        ]
        assert lines, f"no verify call logged under {request_id}"
        return lines

    return eventually_sync(logged, timeout=LOG_WAIT_SECONDS)


def test_template_uses_only_the_contract_variables() -> None:
    text = TEMPLATE.read_text(encoding="utf-8")
    assert set(re.findall(r"\$\{(\w+)\}", text)) == set(TEMPLATE_VARIABLES)
    rendered = render_template(text, dict.fromkeys(TEMPLATE_VARIABLES, "x"))
    assert "${" not in rendered
    # Upper-case names are what environment variables look like; nginx's own are lower case.
    assert all(name.islower() for name in re.findall(r"\$([A-Za-z_]\w*)", rendered))
    assert "$upstream_http_x_auth_subject" in rendered


def test_no_token_is_refused_before_the_app(gateway: Gateway, client: httpx.Client) -> None:
    assert_refused(client.get("/api/orders"))
    assert_refused(client.post("/api/orders", json={"item": 1}))
    assert_refused(client.delete("/api/orders/1"))
    assert gateway.app.received == []


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer not-a-jwt",
        "Bearer a.b.c",
        "Bearer " + "A" * 5000,
        "Bearer",
        "Basic YWxpY2U6cGFzc3dvcmQ=",
    ],
)
def test_garbage_tokens_are_refused(
    gateway: Gateway, client: httpx.Client, authorization: str
) -> None:
    assert_refused(client.get("/api/orders", headers={"Authorization": authorization}))
    assert gateway.app.received == []


def test_valid_token_reaches_the_app_with_its_identity(
    gateway: Gateway, client: httpx.Client
) -> None:
    user, tokens = new_user(client)
    session_id = current_session_id(client, tokens)

    response = client.get("/api/orders?page=2", headers=tokens.bearer)

    assert response.status_code == 200, response.text
    assert response.json()["path"] == "/api/orders?page=2"
    seen = only_request(gateway)
    assert (seen.method, seen.path) == ("GET", "/api/orders?page=2")
    assert seen.header("X-Auth-Subject") == user["id"]
    assert seen.header("X-Auth-Username") == user["username"]
    assert seen.header("X-Auth-Session") == session_id
    assert seen.header("Host") == f"127.0.0.1:{gateway.nginx.port}"
    assert seen.header("X-Forwarded-For") == "127.0.0.1"
    assert seen.header("X-Forwarded-Proto") == "http"


def test_tampered_and_refresh_tokens_are_refused(gateway: Gateway, client: httpx.Client) -> None:
    _, tokens = new_user(client)
    head, payload, signature = tokens.access.split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    assert_refused(client.get("/api/orders", headers=bearer(f"{head}.{payload}.{flipped}")))
    # The refresh token is a signed JWT too, but of the wrong kind and key.
    assert_refused(client.get("/api/orders", headers=bearer(tokens.refresh)))
    assert gateway.app.received == []


def test_forged_identity_headers_never_reach_the_app(
    gateway: Gateway, client: httpx.Client
) -> None:
    user, tokens = new_user(client)
    forged = [
        ("X-Auth-Subject", "admin"),
        ("x-auth-subject", "root"),
        ("X-AUTH-USERNAME", "admin"),
        ("X-Auth-Session", "forged-session"),
        ("X-Auth-Session", "forged-session-2"),
        # CGI-style apps read both spellings as HTTP_X_AUTH_SUBJECT.
        ("X_Auth_Subject", "admin"),
        ("X_Auth_Username", "admin"),
    ]
    response = client.get(
        "/api/admin", headers=[*forged, ("Authorization", f"Bearer {tokens.access}")]
    )

    assert response.status_code == 200, response.text
    seen = only_request(gateway)
    assert seen.header("X-Auth-Subject") == user["id"]
    assert seen.header("X-Auth-Username") == user["username"]
    assert seen.header("X-Auth-Session") == current_session_id(client, tokens)
    values = {value for _, value in seen.headers}
    assert values.isdisjoint(value for _, value in forged), seen.headers
    assert not [name for name, _ in seen.headers if "_" in name], seen.headers


def test_forged_identity_headers_without_a_token_are_refused(
    gateway: Gateway, client: httpx.Client
) -> None:
    forged = {name: "admin" for name in IDENTITY_HEADERS}
    assert_refused(client.get("/api/admin", headers=forged))
    assert_refused(client.get("/api/admin", headers={**forged, "Authorization": "Bearer admin"}))
    assert gateway.app.received == []


def test_logout_through_the_gateway_revokes_the_access_token_at_once(
    gateway: Gateway, client: httpx.Client
) -> None:
    _, tokens = new_user(client)
    assert client.get("/api/orders", headers=tokens.bearer).status_code == 200

    logout = client.post("/auth/logout", headers=cookie_header(tokens.refresh))

    assert logout.status_code == 204, logout.text
    cleared = only_set_cookie(logout)
    assert (cleared.value, cleared.attributes.get("max-age")) in {("", "0"), ('""', "0")}
    assert_refused(client.get("/api/orders", headers=tokens.bearer))
    assert len(gateway.app.received) == 1


def test_refresh_through_the_gateway_rotates_the_cookie(
    gateway: Gateway, client: httpx.Client
) -> None:
    _, first = new_user(client)
    session_id = current_session_id(client, first)

    response = refresh_sync(client, first.refresh)

    second = token_pair(response)
    assert second.refresh != first.refresh
    cookie = only_set_cookie(response)
    assert {"httponly", "secure"} <= cookie.attributes.keys()
    assert cookie.name == COOKIE
    assert cookie.attributes.get("path") == "/"
    assert "domain" not in cookie.attributes
    assert client.get("/api/orders", headers=second.bearer).status_code == 200
    assert only_request(gateway).header("X-Auth-Session") == session_id


@pytest.mark.parametrize(
    ("sent", "forwarded"),
    [
        ("theme=dark; {cookie}={token}; lang=en", "theme=dark; lang=en"),
        ("{cookie}={token}; lang=en", "lang=en"),
        ("theme=dark; {cookie}={token}", "theme=dark"),
        ("theme=dark;{cookie}={token};lang=en", "theme=dark;lang=en"),
        # A planted duplicate and the plain name of Path=/auth deployments go too.
        ("{cookie}={token}; a=1; {cookie}=planted; refresh_token=old; b=2", "a=1; b=2"),
        ("{cookie}={token}", None),
        # Names that merely contain the cookie's name are the app's own.
        ("my{cookie}=1; refresh_tokens=2", "my{cookie}=1; refresh_tokens=2"),
    ],
)
def test_the_app_never_receives_the_refresh_cookie(
    gateway: Gateway, client: httpx.Client, sent: str, forwarded: str | None
) -> None:
    # With a __Host- name the cookie has Path=/, so the browser sends it with every request
    # to this host, the app's included: the gateway must keep it to authsvc.
    _, tokens = new_user(client)
    cookie = sent.format(cookie=COOKIE, token=tokens.refresh)

    response = client.get("/api/orders", headers={**tokens.bearer, "Cookie": cookie})

    assert response.status_code == 200, response.text
    received = only_request(gateway).header_values("Cookie")
    assert received == ([forwarded.format(cookie=COOKIE)] if forwarded else [])
    assert tokens.refresh not in str(only_request(gateway).headers)


def _chunks(body: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_request_body_reaches_the_app_and_not_verify(
    gateway: Gateway, client: httpx.Client, chunked: bool
) -> None:
    _, tokens = new_user(client)
    # Over authsvc's own 16 KB body cap: had the body, or only its length, gone to verify,
    # verify would have refused it and nginx would have answered 401 or 500.
    body = os.urandom(64 * 1024)
    request_id = f"upload-{uuid.uuid4().hex}"
    headers = {**tokens.bearer, "X-Request-ID": request_id}

    response = client.post(
        "/api/uploads",
        headers={**headers, "Content-Type": "application/octet-stream"},
        content=_chunks(body, 10_000) if chunked else body,
    )

    assert response.status_code == 200, response.text
    seen = only_request(gateway)
    assert seen.method == "POST"
    assert seen.body == body
    assert seen.header("Content-Length") == str(len(body))
    assert seen.header("X-Request-ID") == request_id
    # The verify call carried the same request id and was a GET, whatever the app got.
    [verify_call] = verify_calls(gateway, request_id)
    assert verify_call == "GET /auth/verify 200"


def test_request_id_is_kept_when_plain_and_replaced_when_not(
    gateway: Gateway, client: httpx.Client
) -> None:
    _, tokens = new_user(client)
    sent = ["trace-1.A_b", "has spaces", "x" * 65, "semi;colon", None]
    for request_id in sent:
        extra = {"X-Request-ID": request_id} if request_id is not None else {}
        response = client.get("/api/orders", headers={**tokens.bearer, **extra})
        assert response.status_code == 200, response.text
    ids = [request.header("X-Request-ID") for request in gateway.app.received]
    assert len(ids) == len(sent)
    assert ids[0] == "trace-1.A_b"
    assert all(GENERATED_REQUEST_ID.fullmatch(request_id) for request_id in ids[1:]), ids
    assert len(set(ids)) == len(sent)
    # authsvc logged its verify call under the id the app got, so the two logs join up.
    assert all(verify_calls(gateway, request_id) for request_id in ids)


def test_oversized_headers_get_a_4xx_never_a_5xx(gateway: Gateway, client: httpx.Client) -> None:
    _, tokens = new_user(client)
    one_huge = {"X-Padding": "p" * 32 * 1024}
    for path in ("/api/orders", "/auth/me"):
        response = client.get(path, headers={**tokens.bearer, **one_huge})
        assert 400 <= response.status_code < 500, (path, response.status_code)
    # 18 KB in lines nginx accepts: over authsvc's 16 KB cap, yet the verify call stays small.
    several = {f"X-Padding-{i}": "p" * 6000 for i in range(3)}
    assert_refused(client.get("/api/orders", headers=several))
    assert gateway.app.received == []

    authorized = client.get("/api/orders", headers={**tokens.bearer, **several})
    assert authorized.status_code == 200, authorized.text
    assert only_request(gateway).header("X-Padding-2") == several["X-Padding-2"]
    # authsvc's own routes get the request as sent and refuse it themselves.
    direct = client.get("/auth/me", headers={**tokens.bearer, **several})
    assert direct.status_code == 431, direct.text


def test_cross_site_checks_still_hold_behind_the_gateway(
    gateway: Gateway, client: httpx.Client
) -> None:
    username = f"gw-{uuid.uuid4().hex[:12]}"
    register_sync(client, username)
    credentials = {"username": username, "password": PASSWORD}
    # An SPA served by this gateway: the Host authsvc sees must keep nginx's port to match.
    same_origin = {"Origin": gateway.nginx.base_url}
    tokens = token_pair(client.post("/auth/login", json=credentials, headers=same_origin))

    foreign = {"Origin": "https://evil.example"}
    assert client.post("/auth/login", json=credentials, headers=foreign).status_code == 403
    stolen = client.post("/auth/refresh", headers={**cookie_header(tokens.refresh), **foreign})
    assert stolen.status_code == 403
    assert client.post("/auth/refresh", headers=CSRF_HEADER).status_code == 401


def test_authsvc_routes_pass_without_a_token_and_nothing_else_does(
    gateway: Gateway, client: httpx.Client
) -> None:
    health = client.get("/healthz")
    assert health.status_code == 200, health.text
    assert "x-request-id" in health.headers  # authsvc's answer, not nginx's
    well_known = client.get("/.well-known/jwks.json")
    assert "x-request-id" in well_known.headers
    assert well_known.status_code != 401

    for path in ("/auth", "/healthzz", "/authx/login", "/auth/%2e%2e/api/orders"):
        assert_refused(client.get(path))
    assert client.get("/_gateway/verify", headers=bearer("x")).status_code == 404
    assert gateway.app.received == []


def test_the_browser_client_and_its_parts_come_through_with_their_validators(
    gateway: Gateway, client: httpx.Client
) -> None:
    # A page imports /auth/client.js through the gateway; the parts it imports by relative
    # paths resolve under /auth/client/, which the gateway forwards like the rest of /auth/.
    modules = {CLIENT_PATH: client_source()}
    modules.update({f"/auth/client/{name}": source for name, source in client_parts().items()})
    for path, source in modules.items():
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.content == source
        assert response.headers["content-type"] == "text/javascript; charset=utf-8"
        assert response.headers["cache-control"] == "public, no-cache"
        again = client.get(path, headers={"If-None-Match": response.headers["etag"]})
        assert again.status_code == 304, path
    # nginx matches the location on the normalised path but forwards the one sent, which
    # names no part.
    traversal = client.get("/auth/client/%2e%2e/client.js")
    assert traversal.status_code == 404
    assert traversal.json() == {"detail": "Not Found"}
    assert gateway.app.received == []


def test_authsvc_metrics_are_not_published_through_the_gateway(
    gateway: Gateway, client: httpx.Client
) -> None:
    assert_refused(client.get("/metrics"))
    assert gateway.app.received == []

    _, tokens = new_user(client)
    response = client.get("/metrics", headers=tokens.bearer)

    # Even with a valid token the path belongs to the protected app, never to authsvc.
    assert response.status_code == 200, response.text
    assert response.json()["path"] == "/metrics"
    assert "authsvc_" not in response.text
    assert only_request(gateway).path == "/metrics"


def test_unreachable_authsvc_keeps_the_app_closed(
    gateway: Gateway, nginx_factory: NginxFactory
) -> None:
    dead = nginx_factory.start(
        authsvc_upstream=f"127.0.0.1:{free_port()}", app_upstream=gateway.app.address
    )
    try:
        with dead.client() as client:
            response = client.get("/api/orders", headers=bearer("a.b.c"))
    finally:
        dead.stop()

    assert response.status_code == 503, response.text
    assert response.headers.get("retry-after") == "5"
    assert gateway.app.received == []


def test_verify_gets_only_the_token_and_no_identity_is_made_up(
    gateway: Gateway, nginx_factory: NginxFactory
) -> None:
    # A stand-in authsvc that records its calls and approves without naming anyone.
    stand_in = RecordingApp()
    try:
        nginx = nginx_factory.start(
            authsvc_upstream=stand_in.address, app_upstream=gateway.app.address
        )
        try:
            with nginx.client() as client:
                response = client.post(
                    "/api/uploads",
                    content=b"the app's business",
                    headers={
                        "Authorization": "Bearer token-under-test",
                        "X-Request-ID": "trace-verify",
                        "Cookie": f"{COOKIE}=not-for-verify",
                        **{name: "admin" for name in IDENTITY_HEADERS},
                    },
                )
        finally:
            nginx.stop()
    finally:
        stand_in.close()

    assert response.status_code == 200, response.text
    [verify] = stand_in.received
    assert (verify.method, verify.path, verify.body) == ("GET", "/auth/verify", b"")
    assert {name.lower() for name, _ in verify.headers} <= {
        "host",
        "authorization",
        "x-request-id",
        "x-forwarded-for",
        "x-forwarded-proto",
    }, verify.headers
    assert verify.header("Authorization") == "Bearer token-under-test"
    assert verify.header("X-Request-ID") == "trace-verify"
    seen = only_request(gateway)
    assert seen.body == b"the app's business"
    # Approved but unnamed: the app gets no identity at all, least of all the client's.
    assert not [name for name, _ in seen.headers if name.lower().startswith("x-auth")]
