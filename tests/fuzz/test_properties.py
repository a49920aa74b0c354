"""Property-based tests: whatever arrives, the answer is a refusal or a success, never a crash.

Two layers. `TokenService` is fed arbitrary strings, bytes, JWT-shaped junk and tokens signed
over arbitrary JSON with the right or a wrong key: it returns claims or raises `InvalidToken`,
and accepts a correctly signed token exactly when its claims are valid (an oracle written from
the contract, not from the code). Over HTTP, the bodies, form fields, Bearer header and refresh
cookie that clients control get arbitrary values: every answer is a documented 2xx or a 4xx
with FastAPI's `{"detail": …}` body, never a 5xx (SPEC: "No input, however malformed or large,
produces a 500").
"""

from __future__ import annotations

import base64
import hmac
import json
import string
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import hypothesis
import pytest
from hypothesis import HealthCheck, event, example, given
from hypothesis import strategies as st

from authsvc.errors import InvalidToken
from authsvc.keys import hmac_key_id
from authsvc.settings import Settings
from authsvc.tokens import (
    HEADER_TYP,
    MAX_TOKEN_CHARS,
    TokenKind,
    TokenService,
)
from tests.support.http import CSRF_HEADER, PASSWORD, Tokens, post_with_cookie
from tests.support.settings import (
    ACCESS_SECRET,
    REFRESH_SECRET,
    UNTHROTTLED,
    make_settings,
    settings_without_database,
)
from tests.support.tokens import verify

KINDS: tuple[TokenKind, ...] = ("access", "refresh")
SECRET: dict[TokenKind, str] = {"access": ACCESS_SECRET, "refresh": REFRESH_SECRET}
ISSUER = "authsvc-fuzz"
AUDIENCE = "authsvc-fuzz-api"
LEEWAY = 10
ACCESS_TTL = 600
ALGORITHM = "HS256"
ACCESS_KID = hmac_key_id(ACCESS_SECRET)

# The NumericDates a `datetime` can hold (years 1 to 9999); a token outside them is not ours.
EPOCH_MIN = int(datetime.min.replace(tzinfo=UTC).timestamp())
EPOCH_MAX = int(datetime.max.replace(tzinfo=UTC, microsecond=0).timestamp())

# Pure-function properties are cheap: many examples. HTTP ones go through argon2: few.
PURE = hypothesis.settings(max_examples=300, deadline=None, database=None)
HTTP = hypothesis.settings(
    max_examples=60,
    deadline=None,
    database=None,
    # The app, its database and the logged-in user are shared by a test's examples on purpose.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# --- strategies -------------------------------------------------------------------------------

B64URL = string.ascii_letters + string.digits + "-_"
# Control characters included; lone surrogates too (they reach the server as \udXXX escapes).
any_char = st.characters(exclude_categories=()) | st.characters(categories=["Cs"])
any_text = st.text(any_char, max_size=40)
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | any_text
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(any_text, inner, max_size=4),
    max_leaves=12,
)
# Python's json module (which python-jose uses) also reads NaN and ±Infinity.
lenient_json_values = st.recursive(
    json_scalars | st.floats(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(any_text, inner, max_size=3),
    max_leaves=8,
)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign(header: object, payload: object, key: bytes, digest: str = "sha256") -> str:
    """A JWS in compact form over arbitrary JSON, signed by hand: jose would refuse to."""
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(payload).encode())}"
    signature = hmac.new(key, signing_input.encode(), digest).digest()
    return f"{signing_input}.{b64url(signature)}"


segments = (
    st.binary(max_size=48).map(b64url)
    | st.text(alphabet=B64URL + "=+/ .", max_size=48)
    | json_values.map(lambda value: b64url(json.dumps(value).encode()))
)
jwt_shaped = st.lists(segments, min_size=1, max_size=6).map(".".join)
token_strings = st.one_of(
    st.text(),
    st.text(any_char),
    st.binary().map(lambda raw: raw.decode("latin-1")),
    st.binary().map(lambda raw: raw.decode("utf-8", "surrogateescape")),
    jwt_shaped,
    st.integers(MAX_TOKEN_CHARS - 2, MAX_TOKEN_CHARS + 2).map(lambda n: "a." * (n // 2)),
)

header_values = st.fixed_dictionaries(
    {},
    optional={
        "alg": st.sampled_from(["HS256", "HS384", "HS512", "none", "RS256", "hs256", ""])
        | json_values,
        "typ": st.sampled_from(["at+jwt", "refresh+jwt", "JWT", "AT+JWT", ""]) | json_values,
        "kid": st.just(ACCESS_KID) | json_values,
    },
)


@dataclass(frozen=True)
class Shift:
    """A time claim relative to now, in seconds."""

    seconds: int


DROP = "<drop this claim>"


def away_from_edges(seconds: int) -> bool:
    # The checks flip at ±LEEWAY; jose reads the wall clock a moment after ours.
    return abs(seconds - LEEWAY) > 2 and abs(seconds + LEEWAY) > 2


time_values = st.one_of(
    st.integers(-3 * 86_400, 3 * 86_400).filter(away_from_edges).map(Shift),
    st.sampled_from([EPOCH_MIN, EPOCH_MAX, EPOCH_MIN - 1, EPOCH_MAX + 1, 10**12, -(10**12)]),
    st.sampled_from([2**63, -(2**63), 10**30]),
    st.integers(),
    lenient_json_values,
    st.just(DROP),
)


def near_misses(value: str) -> st.SearchStrategy[object]:
    return st.sampled_from([value, value.upper(), f"{value} ", f" {value}", "", DROP]) | (
        lenient_json_values
    )


audiences = near_misses(AUDIENCE) | st.lists(
    st.sampled_from([AUDIENCE, "other", ""]) | json_scalars, max_size=3
)
CLAIM_VALUES: dict[str, st.SearchStrategy[object]] = {
    "iss": near_misses(ISSUER),
    "sub": near_misses("user-1"),
    "sid": near_misses("session-1"),
    "jti": near_misses("token-1"),
    "type": near_misses("access") | near_misses("refresh"),
    "aud": audiences,  # access tokens only; refresh tokens ignore it
    "username": near_misses("alice"),  # likewise
    "iat": time_values,
    "exp": time_values,
    "x": json_values,  # a claim nobody reads
}
# One or two changes at a time, so most examples get past the early checks to the later ones.
claim_changes = st.lists(
    st.one_of([st.tuples(st.just(name), values) for name, values in CLAIM_VALUES.items()]),
    max_size=2,
).map(dict)


# --- the oracle -------------------------------------------------------------------------------


def is_numeric_date(value: object) -> bool:
    return type(value) is int and EPOCH_MIN <= value <= EPOCH_MAX


def non_empty_string(value: object) -> bool:
    return isinstance(value, str) and value != ""


def is_valid(kind: TokenKind, header: object, claims: object, *, now: float) -> bool:
    """What the contract says a correctly signed token must satisfy (SPEC, Tokens and sessions)."""
    if not isinstance(header, dict) or not isinstance(claims, dict):
        return False
    if header.get("alg") != ALGORITHM or header.get("typ") != HEADER_TYP[kind]:
        return False
    # Access tokens name their key; an unknown or missing kid finds nothing to verify with.
    if kind == "access" and header.get("kid") != ACCESS_KID:
        return False
    if claims.get("iss") != ISSUER or claims.get("type") != kind:
        return False
    if not all(non_empty_string(claims.get(name)) for name in ("sub", "sid", "jti")):
        return False
    if kind == "access":
        audience = claims.get("aud")
        audiences = [audience] if isinstance(audience, str) else audience
        if not isinstance(audiences, list) or not all(isinstance(a, str) for a in audiences):
            return False
        if AUDIENCE not in audiences or not non_empty_string(claims.get("username")):
            return False
    issued_at, expires_at = claims.get("iat"), claims.get("exp")
    if not is_numeric_date(issued_at) or not is_numeric_date(expires_at):
        return False
    assert isinstance(issued_at, int) and isinstance(expires_at, int)
    # An access token may not live longer than the configured TTL (revocations are only
    # remembered that long).
    if kind == "access" and expires_at - issued_at > ACCESS_TTL:
        return False
    return issued_at <= now + LEEWAY and expires_at + LEEWAY > now


# --- TokenService -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tokens() -> TokenService:
    # Every value the oracle depends on is spelled out, so no environment can shift it.
    return TokenService(
        settings_without_database(
            jwt_algorithm=ALGORITHM,
            jwt_issuer=ISSUER,
            jwt_audience=AUDIENCE,
            jwt_leeway_seconds=LEEWAY,
            access_token_ttl_seconds=ACCESS_TTL,
        )
    )


@PURE
@given(token=token_strings, kind=st.sampled_from(KINDS))
def test_junk_is_only_ever_invalid_token(tokens: TokenService, token: str, kind: TokenKind) -> None:
    with pytest.raises(InvalidToken):
        verify(tokens, kind, token, datetime.now(UTC))


@PURE
@given(
    header=header_values | json_values,
    payload=lenient_json_values,
    key=st.sampled_from([ACCESS_SECRET, REFRESH_SECRET]).map(str.encode) | st.binary(),
    digest=st.sampled_from(["sha256", "sha384", "sha512"]),
    kind=st.sampled_from(KINDS),
)
def test_signed_arbitrary_json_is_claims_or_invalid_token(
    tokens: TokenService, header: object, payload: object, key: bytes, digest: str, kind: TokenKind
) -> None:
    now = datetime.now(UTC)
    token = sign(header, payload, key, digest)
    try:
        verify(tokens, kind, token, now)
    except InvalidToken:
        return
    assert key == SECRET[kind].encode() and digest == "sha256"
    assert is_valid(kind, header, payload, now=now.timestamp()), (header, payload)


@PURE
@given(
    kind=st.sampled_from(KINDS),
    changes=claim_changes,
    header_changes=st.just({}) | header_values,
)
# Found by this property, kept as fixed cases: NumericDates a datetime cannot hold.
@example(kind="refresh", changes={"iat": EPOCH_MIN - 1}, header_changes={})
@example(kind="access", changes={"exp": 10**12}, header_changes={})
@example(kind="access", changes={"exp": float("inf")}, header_changes={})
def test_signed_token_is_accepted_exactly_when_its_claims_are_valid(
    tokens: TokenService,
    kind: TokenKind,
    changes: dict[str, object],
    header_changes: dict[str, object],
) -> None:
    now = datetime.now(UTC)
    now_seconds = int(now.timestamp())
    claims: dict[str, object] = {
        "iss": ISSUER,
        "sub": "user-1",
        "sid": "session-1",
        "jti": "token-1",
        "type": kind,
        "iat": now_seconds - 5,
        "exp": now_seconds - 5 + ACCESS_TTL,
    }
    if kind == "access":
        claims |= {"aud": AUDIENCE, "username": "alice"}
    for name, change in changes.items():
        if change == DROP:
            claims.pop(name, None)
        elif isinstance(change, Shift):
            claims[name] = now_seconds + change.seconds
        else:
            claims[name] = change
    header: dict[str, object] = {"alg": ALGORITHM, "typ": HEADER_TYP[kind]}
    if kind == "access":
        header["kid"] = ACCESS_KID
    header |= header_changes
    token = sign(header, claims, SECRET[kind].encode())
    expected = is_valid(kind, header, claims, now=now.timestamp())

    try:
        verified = verify(tokens, kind, token, now)
    except InvalidToken:
        assert not expected, f"a valid token was refused: {header} {claims}"
        return
    assert expected, f"an invalid token was accepted: {header} {claims}"
    assert (verified.user_id, verified.session_id, verified.jti) == (
        claims["sub"],
        claims["sid"],
        claims["jti"],
    )


# --- HTTP -------------------------------------------------------------------------------------


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Overrides the shared fixture: the same app, without the login throttle."""
    return make_settings(tmp_path, **UNTHROTTLED)


def assert_answer(response: httpx.Response, allowed: set[int] | None = None) -> None:
    """A documented status; a 4xx is `{"detail": …}`; a 401 names the Bearer scheme."""
    status = response.status_code
    event(f"HTTP {status}")  # shown by --hypothesis-show-statistics
    assert status < 500, f"{status} {response.text}"
    if allowed is not None:
        assert status in allowed, f"{status} {response.text}"
    if status >= 400:
        body = response.json()
        assert isinstance(body, dict), response.text
        assert "detail" in body, response.text
    if status == 401:
        assert response.headers.get("www-authenticate") == "Bearer"


def as_json(value: object) -> bytes:
    # ensure_ascii keeps lone surrogates as valid \udXXX escapes instead of failing to encode.
    return json.dumps(value).encode()


async def post_json(client: httpx.AsyncClient, path: str, value: object) -> httpx.Response:
    headers = {"Content-Type": "application/json", **CSRF_HEADER}
    return await client.post(path, content=as_json(value), headers=headers)


alice_names = st.sampled_from(["alice", "ALICE", "\uff41\uff4c\uff49\uff43\uff45", "alice "])
handles = st.from_regex(r"[a-z0-9._@+\-]{3,24}", fullmatch=True)
passwords = any_text | st.text(min_size=8, max_size=40) | st.just(PASSWORD)
credentials = st.fixed_dictionaries(
    {"username": any_text | handles | alice_names, "password": passwords},
    optional={"email": any_text | st.emails(), "extra": json_values},
)


def is_alice(username: object, password: object) -> bool:
    """The shared fixture's user, however the name is spelled (it is stored NFKC-casefolded)."""
    return (
        isinstance(username, str)
        and isinstance(password, str)
        and unicodedata.normalize("NFKC", username).casefold() == "alice"
        and unicodedata.normalize("NFKC", password) == PASSWORD
    )


@HTTP
@given(body=json_values)
async def test_login_with_any_json(client: httpx.AsyncClient, alice: Tokens, body: object) -> None:
    assert_answer(await post_json(client, "/auth/login", body), {401, 422})


@HTTP
@given(body=credentials)
async def test_login_with_any_credentials(
    client: httpx.AsyncClient, alice: Tokens, body: dict[str, Any]
) -> None:
    response = await post_json(client, "/auth/login", body)
    if is_alice(body["username"], body["password"]):
        assert_answer(response, {200})
        assert set(response.json()) == {"access_token", "token_type", "expires_in"}
    else:
        assert_answer(response, {401, 422})
    password = body["password"]
    if len(password) >= 12 and password != PASSWORD:
        # Neither raw nor JSON-escaped: the validation handler must not echo what it refused.
        for spelling in (password, as_json(password)[1:-1].decode()):
            assert spelling not in response.text, "password echoed"


@HTTP
@given(body=json_values | credentials)
async def test_register_with_any_body(
    client: httpx.AsyncClient, alice: Tokens, body: object
) -> None:
    response = await post_json(client, "/auth/register", body)
    assert_answer(response, {201, 409, 422})
    if response.status_code == 201:
        assert set(response.json()) == {
            "id",
            "username",
            "email",
            "email_verified",
            "created_at",
            "roles",
        }


password_changes = st.fixed_dictionaries(
    {"current_password": passwords, "new_password": passwords},
    optional={"extra": json_values},
)


@HTTP
@given(body=json_values | password_changes)
async def test_password_change_with_any_body(
    client: httpx.AsyncClient, alice: Tokens, body: object
) -> None:
    response = await client.post(
        "/auth/password",
        content=as_json(body),
        headers={"Content-Type": "application/json", **alice.bearer},
    )
    # 204 ends every other session but keeps this one, so alice's token stays good.
    assert_answer(response, {204, 401, 422})


FORM_NAMES = ["username", "password", "grant_type", "scope", "client_id", "client_secret"]
form_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)
form_value = form_text | st.sampled_from(["alice", "ALICE", PASSWORD, "password", ""])
form_values = form_value | st.lists(form_value, max_size=3)
form_fields = st.one_of(
    st.fixed_dictionaries(
        {"username": alice_names | form_values, "password": st.just(PASSWORD) | form_values},
        optional={name: form_values for name in FORM_NAMES[2:]},
    ),
    st.fixed_dictionaries(
        {"username": form_values, "password": form_values},
        optional={name: form_values for name in FORM_NAMES[2:]},
    ),
    st.fixed_dictionaries({}, optional={name: form_values for name in FORM_NAMES}),
    st.dictionaries(form_text, form_values, max_size=4),
)


def form_value_seen(fields: dict[str, Any], name: str) -> str | None:
    """What FastAPI reads for a single-valued form field: the last one; empty means absent."""
    value = fields.get(name)
    if isinstance(value, list):
        value = value[-1] if value else None
    return value or None


@HTTP
@given(fields=form_fields)
async def test_token_form_with_any_fields(
    client: httpx.AsyncClient, alice: Tokens, fields: dict[str, Any]
) -> None:
    response = await client.post("/auth/token", data=fields, headers=CSRF_HEADER)
    username, password = form_value_seen(fields, "username"), form_value_seen(fields, "password")
    grant_type = form_value_seen(fields, "grant_type")
    if is_alice(username, password) and grant_type in (None, "password"):
        assert_answer(response, {200})
    else:
        assert_answer(response, {401, 422})


@HTTP
@given(
    path=st.sampled_from(["/auth/login", "/auth/token", "/auth/register", "/auth/password"]),
    content=st.binary(max_size=512)
    | json_values.map(as_json).map(lambda raw: raw[: len(raw) // 2])
    | st.just(b'{"username": ' + b"1" * 5000 + b', "password": "x"}'),
    content_type=st.sampled_from(
        [
            "application/json",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=fuzz",
            "multipart/form-data",
            "text/plain",
            "application/json; charset=latin-1",
            "",
        ]
    ),
)
async def test_any_bytes_under_any_content_type(
    client: httpx.AsyncClient, alice: Tokens, path: str, content: bytes, content_type: str
) -> None:
    headers = {"Content-Type": content_type, **CSRF_HEADER, **alice.bearer}
    assert_answer(await client.post(path, content=content, headers=headers))


# Header values travel as Latin-1; printable ones plus tab are what a client can put there.
header_chars = st.sampled_from(
    [chr(c) for c in range(0x20, 0x7F)] + [chr(c) for c in range(0xA0, 0x100)] + ["\t"]
)
header_text = st.text(header_chars, max_size=120)
schemes = st.sampled_from(["Bearer", "bearer", "BEARER", "Basic", "Token", "", "Bearer:"])
separators = st.sampled_from([" ", "  ", "\t", "", " \t"])


@st.composite
def decorated_values(draw: st.DrawFn, genuine: str) -> str:
    """An Authorization value around the genuine token, a near miss of it, or junk."""
    token = draw(
        st.just(genuine)
        | mutated(genuine)
        | header_text
        | jwt_shaped.filter(lambda t: t.isascii() and t.isprintable())
    )
    return (
        draw(st.sampled_from(["", " "]))
        + draw(schemes)
        + draw(separators)
        + token
        + draw(st.sampled_from(["", " ", "\t", "x"]))
    )


def mutated(token: str) -> st.SearchStrategy[str]:
    """The token with one character changed, its signature's spare last bits included."""

    def change(data: tuple[int, str]) -> str:
        index, replacement = data
        return token[:index] + replacement + token[index + 1 :]

    positions = st.integers(0, len(token) - 1)
    return (
        st.tuples(positions, st.sampled_from(B64URL + "."))
        .filter(lambda data: token[data[0]] != data[1])
        .map(change)
    )


def bearer_accepted(value: str, genuine: str) -> bool:
    # RFC 6750 §2.1: the scheme is case-insensitive and followed by one space; FastAPI also
    # forgives whitespace around the token.
    scheme, _, param = value.partition(" ")
    return scheme.lower() == "bearer" and param.strip() == genuine


@HTTP
@given(data=st.data())
async def test_any_authorization_header(
    client: httpx.AsyncClient, alice: Tokens, data: st.DataObject
) -> None:
    genuine = alice.access
    value = data.draw(st.just(f"Bearer {genuine}") | decorated_values(genuine), label="header")
    # Bytes, so httpx sends the Latin-1 octets as they are.
    response = await client.get("/auth/me", headers=[(b"authorization", value.encode("latin-1"))])
    expected = 200 if bearer_accepted(value, genuine) else 401
    assert response.status_code == expected, f"{response.status_code} {response.text}"
    assert_answer(response)


# RFC 6265 cookie-octet: what a client can put in a cookie value without quoting.
cookie_chars = st.sampled_from(
    [chr(c) for c in range(0x21, 0x7F) if chr(c) not in '",;\\'],
)
cookie_values = st.text(cookie_chars, min_size=1, max_size=300) | jwt_shaped.filter(
    lambda t: t.isascii() and all(c not in t for c in ' ",;\\')
)


async def post_drawn_cookie(
    client: httpx.AsyncClient, path: str, alice: Tokens, data: st.DataObject
) -> httpx.Response:
    """POST `path` with only a drawn cookie, never the login's genuine one: any cookie-shaped
    text, or a mutation of alice's refresh token."""
    value = data.draw(cookie_values | mutated(alice.refresh), label="cookie")
    return await post_with_cookie(client, path, value)


@HTTP
@given(data=st.data())
async def test_any_refresh_cookie_is_refused(
    client: httpx.AsyncClient, alice: Tokens, data: st.DataObject
) -> None:
    response = await post_drawn_cookie(client, "/auth/refresh", alice, data)
    assert response.status_code == 401, f"{response.status_code} {response.text}"
    assert_answer(response)
    assert "set-cookie" not in response.headers


@HTTP
@given(data=st.data())
async def test_logout_with_any_cookie_ends_nothing_else(
    client: httpx.AsyncClient, alice: Tokens, data: st.DataObject
) -> None:
    response = await post_drawn_cookie(client, "/auth/logout", alice, data)
    assert_answer(response, {204})
    assert (await client.get("/auth/me", headers=alice.bearer)).status_code == 200


# Whatever method the gateway saw: nginx's auth_request subrequest carries it along, and
# nginx proxies WebDAV and other extension methods too.
GATEWAY_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "PROPFIND", "QUERY"]


@HTTP
@given(
    data=st.data(),
    method=st.sampled_from(GATEWAY_METHODS),
    padding=st.sampled_from([0, 0, 0, 20_000]),
    content=st.sampled_from([b"", b"x" * 100_000]) | st.binary(max_size=64),
)
async def test_forward_auth_answers_only_200_or_401(
    client: httpx.AsyncClient,
    alice: Tokens,
    data: st.DataObject,
    method: str,
    padding: int,
    content: bytes,
) -> None:
    genuine = alice.access
    value = data.draw(st.just(f"Bearer {genuine}") | decorated_values(genuine), label="header")
    headers = [(b"authorization", value.encode("latin-1")), (b"x-padding", b"p" * padding)]
    response = await client.request(method, "/auth/verify", headers=headers, content=content)
    event(f"{method} {response.status_code}")
    # SPEC: only ever 200 or 401; a gateway turns anything else into a 500 for the user.
    assert response.status_code in (200, 401), f"{method}: {response.status_code}"
    within_limits = padding == 0 and len(content) < 16_384
    if bearer_accepted(value, genuine) and within_limits:
        assert response.status_code == 200
        assert response.headers["x-auth-username"] == "alice"
    else:
        assert response.status_code == 401
        assert response.headers.get("www-authenticate") == "Bearer"
