"""Forged tokens over HTTP: every forgery of alice's real tokens fails on every route.

Each forgery starts from a token the service really issued and changes one thing (the header,
a claim, the key, the encoding), so a pass here means that one check is missing. After each
attack alice's genuine credentials must be untouched: a forgery that got through on one route
and changed state (a revoked session, a new password, a rotated cookie) shows up there too.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jose import jwk, jwt

from tests.support.http import COOKIE, PASSWORD, Tokens, login, new_refresh_token
from tests.support.settings import ACCESS_SECRET, REFRESH_SECRET

ISSUER = AUDIENCE = "authsvc"  # the Settings defaults
LEEWAY = 10  # Settings.jwt_leeway_seconds default
HOUR = 3600
# Headers a browser SPA sends on the cookie routes; no Origin, as from a non-browser client.
COOKIE_ROUTE_HEADERS = {"X-Requested-With": "XMLHttpRequest"}
ATTACKER_KEY = b"attacker-controlled-hmac-key-0123456789"
ATTACKER_URL = "http://127.0.0.1:1/keys"
DIGESTS: dict[str, Callable[[], Any]] = {
    "HS256": hashlib.sha256,
    "HS384": hashlib.sha384,
    "HS512": hashlib.sha512,
}


# Hand-built JWS compact serialisation: every byte under the test's control.


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def segment(value: object) -> str:
    # Compact separators, as python-jose writes them, so re-signing unchanged claims
    # reproduces the genuine token byte for byte (checked by the control tests).
    raw = value if isinstance(value, bytes) else json.dumps(value, separators=(",", ":")).encode()
    return b64url(raw)


def hmac_sign(header: object, payload: object, key: bytes, alg: str = "HS256") -> str:
    signing_input = f"{segment(header)}.{segment(payload)}"
    mac = hmac.new(key, signing_input.encode("ascii"), DIGESTS[alg]).digest()
    return f"{signing_input}.{b64url(mac)}"


def unsigned(header: object, payload: object, signature: str = "") -> str:
    return f"{segment(header)}.{segment(payload)}.{signature}"


@cache
def attacker_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def attacker_public_pem() -> bytes:
    return (
        attacker_rsa_key()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def attacker_public_der() -> bytes:
    return (
        attacker_rsa_key()
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def attacker_private_pem() -> bytes:
    return attacker_rsa_key().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@dataclass(frozen=True)
class Genuine:
    """One real token as the service issued it, taken apart."""

    token: str
    header: dict[str, Any]
    claims: dict[str, Any]
    kind_secret: bytes  # the secret that really signs this kind of token
    other_token: str  # the other kind's real token, for confusion attacks

    @classmethod
    def parse(cls, token: str, *, secret: str, other: str) -> Genuine:
        header_b64, payload_b64, _ = token.split(".")
        return cls(
            token=token,
            header=json.loads(b64url_decode(header_b64)),
            claims=json.loads(b64url_decode(payload_b64)),
            kind_secret=secret.encode(),
            other_token=other,
        )

    @property
    def now(self) -> int:
        issued: int = self.claims["iat"]
        return issued

    @property
    def signature(self) -> str:
        return self.token.rsplit(".", 1)[1]

    def resign(
        self,
        *,
        header: dict[str, Any] | None = None,
        drop_header: tuple[str, ...] = (),
        drop: tuple[str, ...] = (),
        key: bytes | None = None,
        alg: str = "HS256",
        **claims: Any,
    ) -> str:
        """This token with header fields or claims changed, HMAC-signed (by default correctly)."""
        new_header = {k: v for k, v in self.header.items() if k not in drop_header}
        new_header.update(header or {})
        payload = {k: v for k, v in self.claims.items() if k not in drop}
        payload.update(claims)
        return hmac_sign(new_header, payload, self.kind_secret if key is None else key, alg)

    def with_alg(self, alg: str, signature: str = "") -> str:
        return unsigned({**self.header, "alg": alg}, self.claims, signature)

    def splice_signature(self, make: Callable[[str], str]) -> str:
        signing_input, signature = self.token.rsplit(".", 1)
        return f"{signing_input}.{make(signature)}"


Forge = Callable[[Genuine], str]


def flip_first_mac_bit(signature: str) -> str:
    mac = bytearray(b64url_decode(signature))
    mac[0] ^= 0x01
    return b64url(bytes(mac))


def flip_unused_trailing_bits(signature: str) -> str:
    # 32 MAC bytes are 43 base64url characters; the last one carries 4 bits of MAC and 2
    # unused bits. Changing only those gives another spelling of the same MAC (RFC 4648 §3.5).
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    index = alphabet.index(signature[-1])
    return signature[:-1] + alphabet[index ^ 0b01]


def padded(g: Genuine, size: int) -> str:
    """A correctly signed token of about `size` characters, grown by one large claim."""
    return g.resign(padding="x" * (size * 3 // 4))


def standard_alphabet(g: Genuine) -> str:
    """The right MAC spelled with '+' and '/' (plain base64), not base64url's '-' and '_'."""
    # About one MAC in four has neither character; an extra claim picks one that has.
    for attempt in range(1000):
        token = g.resign(nonce=attempt)
        signing_input, signature = token.rsplit(".", 1)
        if {"-", "_"} & set(signature):
            return f"{signing_input}.{signature.replace('-', '+').replace('_', '/')}"
    raise AssertionError("no MAC with '-' or '_' in 1000 tries")


def jwk_rsa(g: Genuine) -> str:
    public = jwk.construct(attacker_public_pem().decode(), "RS256").to_dict()
    return jwt.encode(
        g.claims,
        attacker_private_pem().decode(),
        algorithm="RS256",
        headers={"typ": g.header["typ"], "jwk": public},
    )


def jwk_oct(g: Genuine) -> str:
    key = {"kty": "oct", "k": b64url(ATTACKER_KEY), "alg": "HS256"}
    return g.resign(header={"jwk": key}, key=ATTACKER_KEY)


ALG_NONE: list[tuple[str, Forge]] = [
    (f"alg-{spelling}-{sig}", forge)
    for spelling in ("none", "None", "NONE", "nOnE")
    for sig, forge in (
        ("empty-sig", lambda g, a=spelling: g.with_alg(a)),
        ("kept-sig", lambda g, a=spelling: g.with_alg(a, g.signature)),
    )
]

ACCESS_FORGERIES: list[tuple[str, Forge]] = [
    *ALG_NONE,
    # algorithm confusion
    ("alg-HS384-right-secret", lambda g: g.resign(header={"alg": "HS384"}, alg="HS384")),
    ("alg-HS512-right-secret", lambda g: g.resign(header={"alg": "HS512"}, alg="HS512")),
    ("alg-RS256-header-hmac-sig", lambda g: g.resign(header={"alg": "RS256"})),
    ("alg-ES256-header-hmac-sig", lambda g: g.resign(header={"alg": "ES256"})),
    # signature tampering
    ("sig-empty", lambda g: g.splice_signature(lambda s: "")),
    ("sig-truncated", lambda g: g.splice_signature(lambda s: s[:-4])),
    ("sig-half", lambda g: g.splice_signature(lambda s: s[: len(s) // 2])),
    ("sig-flipped-bit", lambda g: g.splice_signature(flip_first_mac_bit)),
    ("sig-noncanonical-trailing-bits", lambda g: g.splice_signature(flip_unused_trailing_bits)),
    ("sig-base64-padding", lambda g: g.token + "=="),
    ("sig-standard-base64-alphabet", standard_alphabet),
    # wrong keys
    ("signed-with-refresh-secret", lambda g: g.resign(key=REFRESH_SECRET.encode())),
    ("key-public-pem-as-hmac-secret", lambda g: g.resign(key=attacker_public_pem())),
    ("key-public-der-as-hmac-secret", lambda g: g.resign(key=attacker_public_der())),
    ("key-empty-string", lambda g: g.resign(key=b"")),
    # header injection: the service must use its own key, never one the token points at
    ("kid-path-traversal", lambda g: g.resign(header={"kid": "../../dev/null"}, key=b"")),
    (
        "kid-sql-injection",
        lambda g: g.resign(header={"kid": "x' UNION SELECT 'attacker'-- "}, key=b"attacker"),
    ),
    ("jku-attacker-url", lambda g: g.resign(header={"jku": ATTACKER_URL}, key=ATTACKER_KEY)),
    ("x5u-attacker-url", lambda g: g.resign(header={"x5u": ATTACKER_URL}, key=ATTACKER_KEY)),
    ("jwk-embedded-oct", jwk_oct),
    ("jwk-embedded-rsa-RS256", jwk_rsa),
    # time claims
    ("expired", lambda g: g.resign(iat=g.now - 2 * HOUR, exp=g.now - LEEWAY - 60)),
    ("nbf-in-future", lambda g: g.resign(nbf=g.now + HOUR)),
    ("iat-far-future", lambda g: g.resign(iat=g.now + HOUR)),
    (
        "exp-far-future-iat-future",
        lambda g: g.resign(iat=g.now + HOUR, exp=g.now + 10 * 365 * 24 * HOUR),
    ),
    # who the token is for and what it is
    ("iss-wrong", lambda g: g.resign(iss="https://evil.example")),
    ("aud-wrong", lambda g: g.resign(aud="some-other-service")),
    ("aud-list-without-ours", lambda g: g.resign(aud=["some-other-service", "authsvc-admin"])),
    ("typ-JWT", lambda g: g.resign(header={"typ": "JWT"})),
    ("typ-refresh+jwt", lambda g: g.resign(header={"typ": "refresh+jwt"})),
    ("typ-missing", lambda g: g.resign(drop_header=("typ",))),
    ("type-claim-refresh", lambda g: g.resign(type="refresh")),
    *[
        (f"missing-{claim}", lambda g, c=claim: g.resign(drop=(c,)))
        for claim in ("sub", "sid", "jti", "iat", "exp", "aud", "iss", "username", "type")
    ],
    ("refresh-token-as-bearer", lambda g: g.other_token),
    # malformed
    # Over the service's token length cap, under the request header cap (a 100 KB token is
    # tested on its own below: the header cap may answer it before authentication does).
    ("huge-12kb", lambda g: padded(g, 12_000)),
    ("payload-not-json", lambda g: hmac_sign(g.header, b"{not json", g.kind_secret)),
    ("payload-json-array", lambda g: hmac_sign(g.header, [g.claims], g.kind_secret)),
    ("payload-json-number", lambda g: hmac_sign(g.header, 42, g.kind_secret)),
    ("payload-json-string", lambda g: hmac_sign(g.header, "alice", g.kind_secret)),
    ("garbage-not-base64", lambda g: "%%%.$$$.@@@"),
    ("garbage-word", lambda g: "not-a-jwt"),
    ("two-parts", lambda g: g.token.rsplit(".", 1)[0]),
    ("four-parts", lambda g: g.token + "." + g.signature),
    # whitespace and unicode smuggled into an otherwise genuine token
    ("spaces-inside-signature", lambda g: g.splice_signature(lambda s: f"{s[:10]}  {s[10:]}")),
    ("newlines-inside-signature", lambda g: g.splice_signature(lambda s: f"{s[:10]}\n\n{s[10:]}")),
    ("tab-inside-payload", lambda g: g.token.replace(".", ".\t", 1)),
    ("unicode-inside-signature", lambda g: g.splice_signature(lambda s: f"{s[:10]}é{s[10:]}")),
    ("unicode-after-token", lambda g: g.token + "\u00a0"),
    ("unicode-fullwidth-payload", lambda g: g.token.replace(".", ".\uff21", 1)),
]

REFRESH_FORGERIES: list[tuple[str, Forge]] = [
    ("alg-none-empty-sig", lambda g: g.with_alg("none")),
    ("alg-None-kept-sig", lambda g: g.with_alg("None", g.signature)),
    ("alg-HS512-right-secret", lambda g: g.resign(header={"alg": "HS512"}, alg="HS512")),
    ("signed-with-access-secret", lambda g: g.resign(key=ACCESS_SECRET.encode())),
    ("key-empty-string", lambda g: g.resign(key=b"")),
    ("access-token-as-cookie", lambda g: g.other_token),
    ("typ-at+jwt", lambda g: g.resign(header={"typ": "at+jwt"})),
    ("typ-JWT", lambda g: g.resign(header={"typ": "JWT"})),
    ("typ-missing", lambda g: g.resign(drop_header=("typ",))),
    ("type-claim-access", lambda g: g.resign(type="access")),
    ("expired", lambda g: g.resign(iat=g.now - 2 * HOUR, exp=g.now - LEEWAY - 60)),
    ("iat-far-future", lambda g: g.resign(iat=g.now + HOUR)),
    ("iss-wrong", lambda g: g.resign(iss="https://evil.example")),
    *[
        (f"missing-{claim}", lambda g, c=claim: g.resign(drop=(c,)))
        for claim in ("sid", "jti", "sub", "exp", "iat")
    ],
    ("sig-flipped-bit", lambda g: g.splice_signature(flip_first_mac_bit)),
    ("garbage", lambda g: "%%%.$$$.@@@"),
]


def params(table: list[tuple[str, Forge]]) -> Any:
    ids = [name for name, _ in table]
    assert len(ids) == len(set(ids)), "parametrize ids must be unique"
    return pytest.mark.parametrize("forge", [f for _, f in table], ids=ids)


# What the attacks are sent to, and how alice is checked afterwards.

BEARER_ROUTES = ["GET /auth/me", "GET /auth/sessions", "DELETE /auth/sessions/{sid}"]
BEARER_ROUTES += ["POST /auth/logout-all", "POST /auth/password", "GET /auth/verify"]
NEW_PASSWORD = "some new long passphrase"


def bearer(token: str) -> dict[bytes, bytes]:
    # Raw bytes, so newlines and non-ASCII reach the app exactly as an attacker would send them.
    return {b"Authorization": b"Bearer " + token.encode("utf-8")}


async def call_bearer_route(
    client: httpx.AsyncClient, route: str, token: str, session_id: str
) -> httpx.Response:
    method, path = route.split(" ")
    body = None
    if path == "/auth/password":
        body = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    return await client.request(
        method, path.format(sid=session_id), headers=bearer(token), json=body
    )


def refresh_request_headers(token: str) -> dict[bytes, bytes]:
    return {
        b"Cookie": COOKIE.encode() + b"=" + token.encode("utf-8"),
        **{k.encode(): v.encode() for k, v in COOKIE_ROUTE_HEADERS.items()},
    }


async def post_cookie_route(client: httpx.AsyncClient, path: str, token: str) -> httpx.Response:
    client.cookies.clear()  # only the explicit Cookie header may carry a token
    return await client.post(path, headers=refresh_request_headers(token))


Answer = tuple[int, str | None, list[str]]


def answer(response: httpx.Response) -> Answer:
    """Status, challenge, and any header that would hand out a cookie or an identity."""
    handing_out = sorted(
        name for name in response.headers if name == "set-cookie" or name.startswith("x-auth-")
    )
    return response.status_code, response.headers.get("www-authenticate"), handing_out


REFUSED: Answer = (401, "Bearer", [])
HEADERS_TOO_LARGE: Answer = (431, None, [])


@pytest.fixture
def access(alice: Tokens) -> Genuine:
    return Genuine.parse(alice.access, secret=ACCESS_SECRET, other=alice.refresh)


@pytest.fixture
def refresh(alice: Tokens) -> Genuine:
    return Genuine.parse(alice.refresh, secret=REFRESH_SECRET, other=alice.access)


async def assert_alice_untouched(client: httpx.AsyncClient, alice: Tokens, sid: str) -> None:
    me = await client.get("/auth/me", headers=alice.bearer)
    assert me.status_code == 200, me.text
    assert me.json()["username"] == "alice"
    listed = await client.get("/auth/sessions", headers=alice.bearer)
    assert listed.status_code == 200, listed.text
    assert [(s["id"], s["current"]) for s in listed.json()["sessions"]] == [(sid, True)]
    # The password is still the old one (login raises on anything but 200).
    await login(client, "alice", PASSWORD)


# The tests.


@pytest.mark.parametrize(
    ("table", "typ", "secret", "extra"),
    [
        (
            ACCESS_FORGERIES,
            "at+jwt",
            ACCESS_SECRET,
            {"aud": AUDIENCE, "username": "alice", "type": "access"},
        ),
        (REFRESH_FORGERIES, "refresh+jwt", REFRESH_SECRET, {"type": "refresh"}),
    ],
    ids=["access", "refresh"],
)
def test_every_forgery_differs_from_the_token_it_starts_from(
    table: list[tuple[str, Forge]], typ: str, secret: str, extra: dict[str, str]
) -> None:
    """Control: a forge that returned the genuine token would make its case vacuous."""
    claims = {"iss": ISSUER, "sub": "u", "sid": "s", "jti": "j", "iat": 1, "exp": 2, **extra}
    token = hmac_sign({"alg": "HS256", "typ": typ}, claims, secret.encode())
    genuine = Genuine.parse(token, secret=secret, other="other.kind.token")
    for name, forge in table:
        assert forge(genuine) != token, name


async def test_genuine_access_token_passes_every_bearer_route(
    client: httpx.AsyncClient, alice: Tokens, access: Genuine
) -> None:
    """Control: every route and request shape used below does accept the real token."""
    assert access.resign() == alice.access  # re-signing unchanged reproduces it exactly
    sid = access.claims["sid"]
    # In this order each call leaves the token usable for the next; logout-all ends it.
    in_order = ["GET /auth/me", "GET /auth/sessions", "GET /auth/verify", "POST /auth/password"]
    in_order += ["POST /auth/logout-all"]
    statuses = {
        route: (await call_bearer_route(client, route, alice.access, sid)).status_code
        for route in in_order
    }
    # The session is gone now; a fresh one (with the new password) ends itself by id.
    again = await login(client, "alice", NEW_PASSWORD)
    again_sid = Genuine.parse(again.access, secret=ACCESS_SECRET, other="").claims["sid"]
    route = "DELETE /auth/sessions/{sid}"
    statuses[route] = (await call_bearer_route(client, route, again.access, again_sid)).status_code

    assert set(statuses) == set(BEARER_ROUTES)
    assert statuses == {
        "GET /auth/me": 200,
        "GET /auth/sessions": 200,
        "GET /auth/verify": 200,
        "POST /auth/password": 204,
        "POST /auth/logout-all": 204,
        "DELETE /auth/sessions/{sid}": 204,
    }


@params(ACCESS_FORGERIES)
async def test_forged_access_token_is_refused_by_every_bearer_route(
    client: httpx.AsyncClient, alice: Tokens, access: Genuine, forge: Forge
) -> None:
    token = forge(access)
    sid = access.claims["sid"]

    answers = {
        route: answer(await call_bearer_route(client, route, token, sid)) for route in BEARER_ROUTES
    }

    assert answers == dict.fromkeys(BEARER_ROUTES, REFUSED)
    await assert_alice_untouched(client, alice, sid)


async def test_100kb_token_is_refused_by_every_bearer_route(
    client: httpx.AsyncClient, alice: Tokens, access: Genuine
) -> None:
    """Correctly signed but huge: refused by the header cap (431) or by authentication (401).

    The verify route may only ever answer 200 or 401, so only 401 will do there.
    """
    token = padded(access, 100_000)
    assert len(token) > 100_000
    sid = access.claims["sid"]

    answers = {
        route: answer(await call_bearer_route(client, route, token, sid)) for route in BEARER_ROUTES
    }

    accepted = {route: a for route, a in answers.items() if a not in (REFUSED, HEADERS_TOO_LARGE)}
    assert accepted == {}
    assert answers["GET /auth/verify"] == REFUSED
    await assert_alice_untouched(client, alice, sid)


async def test_access_token_of_a_logged_out_session_is_refused_everywhere(
    client: httpx.AsyncClient, alice: Tokens, access: Genuine
) -> None:
    """Correctly signed and unexpired, but its session has ended: no forgery needed."""
    other = await login(client)
    other_sid = Genuine.parse(other.access, secret=ACCESS_SECRET, other="").claims["sid"]
    logged_out = await post_cookie_route(client, "/auth/logout", other.refresh)
    assert logged_out.status_code == 204, logged_out.text
    # Alice's own claims, correctly signed, pointed at the ended session.
    resigned = access.resign(sid=other_sid)

    for token in (other.access, resigned):
        answers = {
            route: answer(await call_bearer_route(client, route, token, access.claims["sid"]))
            for route in BEARER_ROUTES
        }
        assert answers == dict.fromkeys(BEARER_ROUTES, REFUSED)
    await assert_alice_untouched(client, alice, access.claims["sid"])


async def test_genuine_refresh_cookie_rotates(
    client: httpx.AsyncClient, alice: Tokens, refresh: Genuine
) -> None:
    """Control: the request shape used below does rotate the real cookie."""
    assert refresh.resign() == alice.refresh
    response = await post_cookie_route(client, "/auth/refresh", alice.refresh)
    assert response.status_code == 200, response.text
    assert new_refresh_token(response) != alice.refresh


@params(REFRESH_FORGERIES)
async def test_forged_refresh_cookie_is_refused_and_sets_no_cookie(
    client: httpx.AsyncClient, alice: Tokens, refresh: Genuine, forge: Forge
) -> None:
    token = forge(refresh)

    refreshed = await post_cookie_route(client, "/auth/refresh", token)
    assert answer(refreshed) == REFUSED
    assert "access_token" not in refreshed.text
    # Logout answers 204 to anything, but a forged cookie must not end the real session.
    logged_out = await post_cookie_route(client, "/auth/logout", token)
    assert logged_out.status_code == 204, logged_out.text

    # Still the current generation: the real cookie rotates and its new token works.
    rotated = await post_cookie_route(client, "/auth/refresh", alice.refresh)
    assert rotated.status_code == 200, rotated.text
    assert new_refresh_token(rotated) != alice.refresh
    new_access = rotated.json()["access_token"]
    me = await client.get("/auth/me", headers={"Authorization": f"Bearer {new_access}"})
    assert me.status_code == 200, me.text
