"""TokenService: what it issues, and every way a forged, confused or stale token must fail."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from jose import jwt
from pydantic import SecretStr

from authsvc.errors import InvalidToken
from authsvc.keys import hmac_key_id
from authsvc.settings import Settings
from authsvc.tokens import AccessClaims, IssuedToken, RefreshClaims, TokenKind, TokenService
from tests.support.settings import ACCESS_SECRET, REFRESH_SECRET, FakeClock, make_settings
from tests.support.tokens import verify

USER_ID = "0b7a4c1e-user"
USERNAME = "alice"
SESSION_ID = "5f2d9e3a-session"
JTI = "caller-chosen-jti"
ISSUER = AUDIENCE = "authsvc"  # the Settings defaults
LEEWAY = 10  # Settings.jwt_leeway_seconds default
TTL = 600
ACCESS_KID = hmac_key_id(ACCESS_SECRET)

KINDS: tuple[TokenKind, ...] = ("access", "refresh")
SECRET: dict[TokenKind, str] = {"access": ACCESS_SECRET, "refresh": REFRESH_SECRET}
OTHER: dict[TokenKind, TokenKind] = {"access": "refresh", "refresh": "access"}
TYP: dict[TokenKind, str] = {"access": "at+jwt", "refresh": "refresh+jwt"}
DIGESTS: dict[str, Callable[[], Any]] = {
    "HS256": hashlib.sha256,
    "HS384": hashlib.sha384,
    "HS512": hashlib.sha512,
}


@pytest.fixture
def tokens(tmp_path: Path) -> TokenService:
    return TokenService(make_settings(tmp_path))


@pytest.fixture
def now(clock: FakeClock) -> datetime:
    return clock.now


# Hand-built tokens: every byte is under the test's control, so each forgery differs from a
# valid token in exactly one respect (see test_hand_built_token_is_accepted, the control).


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def segment(value: object) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return b64url(raw)


def sign(header: object, payload: object, *, key: str, alg: str = "HS256") -> str:
    signing_input = f"{segment(header)}.{segment(payload)}"
    mac = hmac.new(key.encode(), signing_input.encode("ascii"), DIGESTS[alg]).digest()
    return f"{signing_input}.{b64url(mac)}"


def claims_for(kind: TokenKind, now: datetime) -> dict[str, Any]:
    issued = int(now.timestamp())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "sub": USER_ID,
        "sid": SESSION_ID,
        "jti": JTI,
        "type": kind,
        "iat": issued,
        "exp": issued + TTL,
    }
    if kind == "access":
        claims |= {"aud": AUDIENCE, "username": USERNAME}
    return claims


def head_for(kind: TokenKind, alg: str = "HS256") -> dict[str, Any]:
    """The header TokenService writes: access tokens name their key (kid), refresh ones do not."""
    head: dict[str, Any] = {"alg": alg, "typ": TYP[kind]}
    if kind == "access":
        head["kid"] = ACCESS_KID
    return head


def forge(
    kind: TokenKind,
    now: datetime,
    *,
    drop: Iterable[str] = (),
    header: dict[str, Any] | None = None,
    key: str | None = None,
    alg: str = "HS256",
    **overrides: Any,
) -> str:
    claims = claims_for(kind, now) | overrides
    for name in drop:
        del claims[name]
    head = head_for(kind, alg) if header is None else header
    return sign(head, claims, key=SECRET[kind] if key is None else key, alg=alg)


def issue_access(
    tokens: TokenService,
    now: datetime,
    *,
    expires_at: datetime | None = None,
    roles: tuple[str, ...] = (),
    amr: tuple[str, ...] = ("pwd",),
) -> IssuedToken:
    """The service's own access token for USER_ID's SESSION_ID, TTL seconds unless told."""
    expires = now + timedelta(seconds=TTL) if expires_at is None else expires_at
    return tokens.issue_access(
        user_id=USER_ID,
        username=USERNAME,
        session_id=SESSION_ID,
        now=now,
        expires_at=expires,
        roles=roles,
        amr=amr,
    )


def issue_refresh(tokens: TokenService, now: datetime, *, expires_at: datetime) -> IssuedToken:
    return tokens.issue_refresh(
        user_id=USER_ID, session_id=SESSION_ID, now=now, expires_at=expires_at, jti=JTI
    )


def assert_rejected(tokens: TokenService, kind: TokenKind, token: str, now: datetime) -> None:
    with pytest.raises(InvalidToken):
        verify(tokens, kind, token, now)


# Issue and verify


def test_access_token_round_trip_carries_every_claim(tokens: TokenService, now: datetime) -> None:
    issued = issue_access(tokens, now, roles=("admin", "ops"))

    assert jwt.get_unverified_header(issued.token) == {
        "alg": "HS256",
        "typ": "at+jwt",
        "kid": ACCESS_KID,
    }
    # Decoded independently of TokenService: signed with ACCESS_TOKEN_SECRET, for our audience.
    claims = jwt.decode(issued.token, ACCESS_SECRET, algorithms=["HS256"], audience=AUDIENCE)
    iat = int(now.timestamp())
    assert claims == {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": USER_ID,
        "username": USERNAME,
        "roles": ["admin", "ops"],
        "amr": ["pwd"],
        "sid": SESSION_ID,
        "jti": issued.jti,
        "type": "access",
        "iat": iat,
        "exp": iat + TTL,
    }
    assert len(issued.jti) >= 16
    assert issued.lifetime_seconds == TTL

    verified = tokens.verify_access(issued.token, now=now)
    assert verified == AccessClaims(
        user_id=USER_ID,
        username=USERNAME,
        session_id=SESSION_ID,
        jti=issued.jti,
        issued_at=datetime.fromtimestamp(iat, tz=UTC),
        expires_at=datetime.fromtimestamp(iat + TTL, tz=UTC),
        roles=("admin", "ops"),
    )
    assert verified.issued_at == issued.issued_at
    assert verified.expires_at == issued.expires_at


def test_refresh_token_round_trip_carries_every_claim(tokens: TokenService, now: datetime) -> None:
    expires = now + timedelta(days=1)
    issued = issue_refresh(tokens, now, expires_at=expires)

    assert jwt.get_unverified_header(issued.token) == {"alg": "HS256", "typ": "refresh+jwt"}
    claims = jwt.decode(issued.token, REFRESH_SECRET, algorithms=["HS256"])
    iat = int(now.timestamp())
    assert claims == {
        "iss": ISSUER,
        "sub": USER_ID,
        "sid": SESSION_ID,
        "jti": JTI,
        "type": "refresh",
        "iat": iat,
        "exp": int(expires.timestamp()),
    }
    assert issued.jti == JTI

    verified = tokens.verify_refresh(issued.token, now=now)
    assert verified == RefreshClaims(
        user_id=USER_ID,
        session_id=SESSION_ID,
        jti=JTI,
        issued_at=datetime.fromtimestamp(iat, tz=UTC),
        expires_at=datetime.fromtimestamp(int(expires.timestamp()), tz=UTC),
    )


def test_access_tokens_get_distinct_random_ids(tokens: TokenService, now: datetime) -> None:
    expires = now + timedelta(seconds=TTL)
    ids = {issue_access(tokens, now, expires_at=expires).jti for _ in range(20)}
    assert len(ids) == 20


@pytest.mark.parametrize("kind", KINDS)
def test_hand_built_token_is_accepted(tokens: TokenService, now: datetime, kind: TokenKind) -> None:
    # The control for every forgery below: they all start from exactly this token.
    claims = verify(tokens, kind, forge(kind, now), now)
    assert (claims.user_id, claims.session_id, claims.jti) == (USER_ID, SESSION_ID, JTI)


# The two kinds never stand in for each other


def test_refresh_token_is_refused_as_access_token(tokens: TokenService, now: datetime) -> None:
    issued = issue_refresh(tokens, now, expires_at=now + timedelta(days=1))
    with pytest.raises(InvalidToken):
        tokens.verify_access(issued.token, now=now)


def test_access_token_is_refused_as_refresh_token(tokens: TokenService, now: datetime) -> None:
    issued = issue_access(tokens, now)
    with pytest.raises(InvalidToken):
        tokens.verify_refresh(issued.token, now=now)


@pytest.mark.parametrize("kind", KINDS)
def test_signed_with_the_other_kinds_secret(
    tokens: TokenService, now: datetime, kind: TokenKind
) -> None:
    # Claims and header are perfect for `kind`; only the key belongs to the other kind.
    assert_rejected(tokens, kind, forge(kind, now, key=SECRET[OTHER[kind]]), now)


@pytest.mark.parametrize("kind", KINDS)
def test_other_kinds_typ_header_with_this_kinds_secret(
    tokens: TokenService, now: datetime, kind: TokenKind
) -> None:
    header = {"alg": "HS256", "typ": TYP[OTHER[kind]]}
    assert_rejected(tokens, kind, forge(kind, now, header=header), now)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("wrong_type", ["other", "", None, 1, "ACCESS", "Refresh"])
def test_wrong_type_claim(
    tokens: TokenService, now: datetime, kind: TokenKind, wrong_type: object
) -> None:
    value = OTHER[kind] if wrong_type == "other" else wrong_type
    assert_rejected(tokens, kind, forge(kind, now, type=value), now)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("typ", ["JWT", "jwt", "", None, "missing"])
def test_wrong_header_typ(
    tokens: TokenService, now: datetime, kind: TokenKind, typ: object
) -> None:
    header: dict[str, Any] = {"alg": "HS256"}
    if typ != "missing":
        header["typ"] = typ
    assert_rejected(tokens, kind, forge(kind, now, header=header), now)


# Algorithm tricks (RFC 8725 §2.1)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
@pytest.mark.parametrize("signature", ["", None, "forged-signature"])
def test_alg_none_is_refused(
    tokens: TokenService, now: datetime, kind: TokenKind, alg: str, signature: str | None
) -> None:
    unsigned = f"{segment(head_for(kind, alg))}.{segment(claims_for(kind, now))}"
    token = unsigned if signature is None else f"{unsigned}.{b64url(signature.encode())}"
    assert_rejected(tokens, kind, token, now)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("alg", ["HS384", "HS512"])
def test_other_hmac_algorithm_with_the_right_secret(
    tokens: TokenService, now: datetime, kind: TokenKind, alg: str
) -> None:
    assert_rejected(tokens, kind, forge(kind, now, alg=alg), now)
    # The same forgery through python-jose itself.
    token = jwt.encode(
        claims_for(kind, now), SECRET[kind], algorithm=alg, headers=head_for(kind, alg)
    )
    assert_rejected(tokens, kind, token, now)


@pytest.mark.parametrize("kind", KINDS)
def test_configured_algorithm_is_the_only_one(
    tmp_path: Path, now: datetime, kind: TokenKind
) -> None:
    hs512 = TokenService(make_settings(tmp_path, jwt_algorithm="HS512"))
    verify(hs512, kind, forge(kind, now, alg="HS512"), now)
    assert_rejected(hs512, kind, forge(kind, now, alg="HS256"), now)


@pytest.mark.parametrize("kind", KINDS)
def test_alg_header_disagreeing_with_signature(
    tokens: TokenService, now: datetime, kind: TokenKind
) -> None:
    # Header claims HS256, but the MAC is HS512 over the same input.
    head = head_for(kind)
    signing_input = f"{segment(head)}.{segment(claims_for(kind, now))}"
    mac = hmac.new(SECRET[kind].encode(), signing_input.encode(), hashlib.sha512).digest()
    assert_rejected(tokens, kind, f"{signing_input}.{b64url(mac)}", now)


@pytest.mark.parametrize("kind", KINDS)
def test_signed_with_a_wrong_secret(tokens: TokenService, now: datetime, kind: TokenKind) -> None:
    assert_rejected(tokens, kind, forge(kind, now, key=secrets.token_urlsafe(48)), now)


@pytest.mark.parametrize("kind", KINDS)
def test_tampered_payload_keeps_old_signature(
    tokens: TokenService, now: datetime, kind: TokenKind
) -> None:
    head, _, signature = forge(kind, now).split(".")
    evil = segment(claims_for(kind, now) | {"sub": "admin"})
    assert_rejected(tokens, kind, f"{head}.{evil}.{signature}", now)


# Claims


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("issuer", ["someone-else", "AUTHSVC", "", None, ["authsvc", "x"]])
def test_wrong_issuer(tokens: TokenService, now: datetime, kind: TokenKind, issuer: object) -> None:
    assert_rejected(tokens, kind, forge(kind, now, iss=issuer), now)


@pytest.mark.parametrize("audience", ["another-api", "AUTHSVC", "", ["another-api"]])
def test_access_token_for_another_audience(
    tokens: TokenService, now: datetime, audience: object
) -> None:
    assert_rejected(tokens, "access", forge("access", now, aud=audience), now)


@pytest.mark.parametrize(
    ("kind", "claim"),
    [
        *[
            ("access", c)
            for c in ("iss", "sub", "sid", "jti", "iat", "exp", "aud", "username", "type")
        ],
        *[("refresh", c) for c in ("iss", "sub", "sid", "jti", "iat", "exp", "type")],
    ],
)
def test_missing_required_claim(
    tokens: TokenService, now: datetime, kind: TokenKind, claim: str
) -> None:
    assert_rejected(tokens, kind, forge(kind, now, drop=[claim]), now)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("claim", ["sub", "sid", "jti"])
@pytest.mark.parametrize("value", ["", 42, None, ["x"], {"id": "x"}])
def test_identifier_claims_must_be_non_empty_strings(
    tokens: TokenService, now: datetime, kind: TokenKind, claim: str, value: object
) -> None:
    bad: dict[str, Any] = {claim: value}
    assert_rejected(tokens, kind, forge(kind, now, **bad), now)


@pytest.mark.parametrize("value", ["", 42, None, ["alice"]])
def test_access_username_must_be_a_non_empty_string(
    tokens: TokenService, now: datetime, value: object
) -> None:
    assert_rejected(tokens, "access", forge("access", now, username=value), now)


@pytest.mark.parametrize("claim", ["roles", "amr"])
@pytest.mark.parametrize("value", ["admin", "mfa", None, {"mfa": True}, [1], ["pwd", None]])
def test_access_name_lists_must_be_lists_of_strings(
    tokens: TokenService, now: datetime, claim: str, value: object
) -> None:
    # A string would otherwise hold each of its letters: "admin" would grant "a", "d", ...
    bad: dict[str, Any] = {claim: value}
    assert_rejected(tokens, "access", forge("access", now, **bad), now)


def test_access_token_without_roles_holds_none(tokens: TokenService, now: datetime) -> None:
    # Tokens issued before roles existed: valid for their last minutes, with no role.
    assert tokens.verify_access(forge("access", now), now=now).roles == ()


def test_access_token_without_amr_was_a_password_login(tokens: TokenService, now: datetime) -> None:
    # Tokens issued before amr existed all came from a password login: one factor.
    assert tokens.verify_access(forge("access", now), now=now).amr == ("pwd",)


def test_access_amr_round_trips_in_order(tokens: TokenService, now: datetime) -> None:
    issued = issue_access(tokens, now, amr=("hwk", "mfa"))
    assert tokens.verify_access(issued.token, now=now).amr == ("hwk", "mfa")


@pytest.mark.parametrize("kind", KINDS)
def test_expired_beyond_leeway(tokens: TokenService, now: datetime, kind: TokenKind) -> None:
    start = int(now.timestamp()) - 3600
    token = forge(kind, now, iat=start, exp=int(now.timestamp()) - LEEWAY - 1)
    assert_rejected(tokens, kind, token, now)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("seconds_ago", [0, 1, LEEWAY // 2, LEEWAY - 2])
def test_expired_within_leeway_is_accepted(
    tokens: TokenService, now: datetime, kind: TokenKind, seconds_ago: int
) -> None:
    expires = int(now.timestamp()) - seconds_ago
    token = forge(kind, now, iat=expires - TTL, exp=expires)
    verify(tokens, kind, token, now)


def test_access_token_living_exactly_the_configured_ttl_is_accepted(
    tokens: TokenService, now: datetime
) -> None:
    issued = int(now.timestamp())
    verify(tokens, "access", forge("access", now, iat=issued, exp=issued + TTL), now)


@pytest.mark.parametrize("extra", [1, LEEWAY, 3600])
def test_access_token_living_longer_than_the_configured_ttl_is_refused(
    tokens: TokenService, now: datetime, extra: int
) -> None:
    # Revocations are remembered for one TTL plus leeway; a longer-lived token would outlive
    # the memory of its session's revocation.
    issued = int(now.timestamp())
    assert_rejected(
        tokens, "access", forge("access", now, iat=issued, exp=issued + TTL + extra), now
    )


def test_access_tokens_issued_under_a_longer_ttl_die_when_it_is_lowered(
    tmp_path: Path, now: datetime
) -> None:
    before = TokenService(make_settings(tmp_path, access_token_ttl_seconds=TTL))
    after = TokenService(make_settings(tmp_path, access_token_ttl_seconds=60))
    old = before.issue_access(
        user_id=USER_ID,
        username=USERNAME,
        session_id=SESSION_ID,
        now=now,
        expires_at=now + timedelta(seconds=TTL),
    )
    new = after.issue_access(
        user_id=USER_ID,
        username=USERNAME,
        session_id=SESSION_ID,
        now=now,
        expires_at=now + timedelta(seconds=60),
    )

    after.verify_access(new.token, now=now)
    with pytest.raises(InvalidToken):
        after.verify_access(old.token, now=now)
    # Raising the TTL again keeps shorter tokens valid: nothing is cut in that direction.
    before.verify_access(new.token, now=now)


@pytest.mark.parametrize("kind", KINDS)
def test_payload_in_utf16_is_refused(tokens: TokenService, now: datetime, kind: TokenKind) -> None:
    # JSON in UTF-16 is still JSON to Python's parser; a token is UTF-8 (RFC 7519 §7.2).
    token = sign(
        head_for(kind), json.dumps(claims_for(kind, now)).encode("utf-16"), key=SECRET[kind]
    )
    assert_rejected(tokens, kind, token, now)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("ahead", [LEEWAY + 1, 3600])
def test_not_before_in_the_future_is_refused(
    tokens: TokenService, now: datetime, kind: TokenKind, ahead: int
) -> None:
    # authsvc issues no nbf, but a signed one still binds (RFC 7519 §4.1.5).
    assert_rejected(tokens, kind, forge(kind, now, nbf=int(now.timestamp()) + ahead), now)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("behind", [-LEEWAY, 0, 60])
def test_not_before_now_within_leeway_is_accepted(
    tokens: TokenService, now: datetime, kind: TokenKind, behind: int
) -> None:
    verify(tokens, kind, forge(kind, now, nbf=int(now.timestamp()) - behind), now)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("nbf", ["0", 1.5, None, True, [0], 10**20])
def test_not_before_must_be_an_integer_date(
    tokens: TokenService, now: datetime, kind: TokenKind, nbf: object
) -> None:
    assert_rejected(tokens, kind, forge(kind, now, nbf=nbf), now)


@pytest.mark.parametrize("audiences", [[AUDIENCE], ["another-api", AUDIENCE]])
def test_access_token_naming_our_audience_among_others(
    tokens: TokenService, now: datetime, audiences: list[str]
) -> None:
    # RFC 7519 §4.1.3: aud may be a list; ours must be in it.
    verify(tokens, "access", forge("access", now, aud=audiences), now)


@pytest.mark.parametrize("audiences", [[], [AUDIENCE, 1], [[AUDIENCE]], {"aud": AUDIENCE}, 7])
def test_access_token_audience_of_the_wrong_shape(
    tokens: TokenService, now: datetime, audiences: object
) -> None:
    assert_rejected(tokens, "access", forge("access", now, aud=audiences), now)


@pytest.mark.parametrize("kind", KINDS)
def test_expiry_follows_the_service_clock(
    tokens: TokenService, clock: FakeClock, kind: TokenKind
) -> None:
    # Still valid by the wall clock, but not by the clock the service runs on.
    token = forge(kind, clock.now)
    verify(tokens, kind, token, clock.now)
    clock.advance(TTL + LEEWAY + 1)
    assert_rejected(tokens, kind, token, clock.now)


@pytest.mark.parametrize("kind", KINDS)
def test_issued_in_the_future_beyond_leeway(
    tokens: TokenService, now: datetime, kind: TokenKind
) -> None:
    token = forge(kind, now, iat=int(now.timestamp()) + LEEWAY + 5)
    assert_rejected(tokens, kind, token, now)


@pytest.mark.parametrize("kind", KINDS)
def test_issued_slightly_in_the_future_is_accepted(
    tokens: TokenService, now: datetime, kind: TokenKind
) -> None:
    verify(tokens, kind, forge(kind, now, iat=int(now.timestamp()) + LEEWAY // 2), now)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("claim", ["exp", "iat"])
@pytest.mark.parametrize("shape", [str, lambda v: [v], lambda v: {"t": v}, lambda _: True])
def test_time_claims_must_be_integers(
    tokens: TokenService,
    now: datetime,
    kind: TokenKind,
    claim: str,
    shape: Callable[[int], object],
) -> None:
    bad: dict[str, Any] = {claim: shape(claims_for(kind, now)[claim])}
    assert_rejected(tokens, kind, forge(kind, now, **bad), now)


# Malformed input: always InvalidToken, never anything else


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "token",
    [
        "",
        "garbage",
        "a.b",
        "a.b.c",
        "..",
        "...",
        "Bearer x.y.z",
        "\x00\x00\x00",
        "ÿþ.ÿþ.ÿþ",
        "%%%.%%%.%%%",
        "eyJhbGciOiJIUzI1NiJ9",
    ],
)
def test_garbage(tokens: TokenService, now: datetime, kind: TokenKind, token: str) -> None:
    assert_rejected(tokens, kind, token, now)


@pytest.mark.parametrize("kind", KINDS)
def test_100_kb_token(tokens: TokenService, now: datetime, kind: TokenKind) -> None:
    # Correctly signed with the right key: refused for its size alone.
    token = forge(kind, now, padding="x" * 100_000)
    assert len(token) > 100_000
    assert_rejected(tokens, kind, token, now)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b"",
        b"\xff\xfe",
        b"[1, 2]",
        b'"a string"',
        b"null",
        b"{",
        b"[" * 1500,
        b'{"a": ' * 1500,
    ],
)
def test_signed_payload_that_is_not_a_json_object(
    tokens: TokenService, now: datetime, kind: TokenKind, payload: bytes
) -> None:
    token = sign(head_for(kind), payload, key=SECRET[kind])
    assert_rejected(tokens, kind, token, now)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "header",
    [
        ["HS256", "at+jwt"],
        [{"alg": "HS256", "typ": "at+jwt"}],
        "HS256",
        None,
        42,
        b"not json",
        b"\xff",
        b"[" * 3000,  # deep nesting: a RecursionError in the parser must still be a 401
        b"[" * 1500,  # as deep, and short enough to reach the parser
        b'{"alg": "HS256", "typ": ' * 1000,
    ],
)
def test_header_that_is_not_a_json_object(
    tokens: TokenService, now: datetime, kind: TokenKind, header: object
) -> None:
    token = sign(header, claims_for(kind, now), key=SECRET[kind])
    assert_rejected(tokens, kind, token, now)


@pytest.mark.parametrize("kind", KINDS)
def test_header_with_bad_base64(tokens: TokenService, now: datetime, kind: TokenKind) -> None:
    _, payload, signature = forge(kind, now).split(".")
    assert_rejected(tokens, kind, f"!!!.{payload}.{signature}", now)
    assert_rejected(tokens, kind, f"a.{payload}.{signature}", now)


# Keys the service refuses to sign with, even when Settings validation was bypassed


def unvalidated(access: str, refresh: str) -> Settings:
    return Settings.model_construct(
        access_token_secret=SecretStr(access), refresh_token_secret=SecretStr(refresh)
    )


def test_unvalidated_settings_with_good_keys_work(now: datetime) -> None:
    service = TokenService(unvalidated(ACCESS_SECRET, REFRESH_SECRET))
    verify(service, "access", forge("access", now), now)


@pytest.mark.parametrize(
    "short",
    ["", "x", "s" * 31, "€" * 10],  # the last is 10 characters but 30 bytes
)
@pytest.mark.parametrize("which", ["access", "refresh"])
def test_refuses_keys_shorter_than_32_bytes(short: str, which: str) -> None:
    access, refresh = (short, REFRESH_SECRET) if which == "access" else (ACCESS_SECRET, short)
    with pytest.raises(ValueError, match="32 bytes"):
        TokenService(unvalidated(access, refresh))


def test_accepts_32_bytes_counted_as_utf8() -> None:
    TokenService(unvalidated("€" * 11, REFRESH_SECRET))  # 11 characters, 33 bytes
    TokenService(unvalidated("k" * 32, REFRESH_SECRET))


def test_refuses_equal_keys() -> None:
    with pytest.raises(ValueError, match="differ"):
        TokenService(unvalidated(ACCESS_SECRET, ACCESS_SECRET))


def test_refuses_equal_keys_set_through_model_copy(tmp_path: Path) -> None:
    settings = make_settings(tmp_path).model_copy(
        update={"refresh_token_secret": SecretStr(ACCESS_SECRET)}
    )
    with pytest.raises(ValueError, match="differ"):
        TokenService(settings)


def test_refuses_short_key_set_through_model_copy(tmp_path: Path) -> None:
    settings = make_settings(tmp_path).model_copy(
        update={"access_token_secret": SecretStr("short")}
    )
    with pytest.raises(ValueError, match="32 bytes"):
        TokenService(settings)


def test_refuses_missing_keys() -> None:
    settings = Settings.model_construct(access_token_secret=None, refresh_token_secret=None)
    with pytest.raises((RuntimeError, ValueError)):
        TokenService(settings)
