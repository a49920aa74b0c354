"""TokenService with RS256/ES256 keys, kids and rotation; HMAC rotation with previous secrets."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from jose import JWTError, jwt

from authsvc.errors import InvalidToken
from authsvc.keys import hmac_key_id, key_id
from authsvc.tokens import TokenService
from tests.support.keys import private_key, private_key_pem, public_key_pem, write_public_keys
from tests.support.settings import ACCESS_SECRET, FakeClock, make_settings

ALGORITHMS = ("RS256", "ES256")
AUDIENCE = "authsvc"
PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
OLD_SECRET = "old-access-secret-0123456789abcdef0123456789ab"


def assert_refused(tokens: TokenService, token: str, now: datetime) -> None:
    with pytest.raises(InvalidToken):
        tokens.verify_access(token, now=now)


@pytest.fixture
def now(clock: FakeClock) -> datetime:
    return clock.now


def service(tmp_path: Path, algorithm: str, index: int = 0, *previous: int) -> TokenService:
    """A deployment signing with key `index`, keeping keys `previous` for verification."""
    overrides: dict[str, object] = {
        "jwt_algorithm": algorithm,
        "access_token_private_key": private_key_pem(algorithm, index),
    }
    if previous:
        path = tmp_path / f"previous-{algorithm}-{index}-{'-'.join(map(str, previous))}.pem"
        pems = (public_key_pem(algorithm, i) for i in previous)
        overrides["access_token_previous_public_keys_file"] = write_public_keys(path, *pems)
    return TokenService(make_settings(tmp_path, **overrides))


def rotated_from_key_1(tmp_path: Path, algorithm: str, now: datetime) -> tuple[str, TokenService]:
    """A token signed with key 1, and the service rotated to key 0 that still lists key 1."""
    return issue(service(tmp_path, algorithm, 1), now), service(tmp_path, algorithm, 0, 1)


def issue(tokens: TokenService, now: datetime) -> str:
    return tokens.issue_access(
        user_id="user-1",
        username="alice",
        session_id="session-1",
        now=now,
        expires_at=now + timedelta(seconds=600),
    ).token


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def claims_of(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.get_unverified_claims(token)
    return claims


def hs256(header: dict[str, Any], claims: dict[str, Any], key: bytes) -> str:
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
    mac = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(mac)}"


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_round_trip_with_kid_in_the_header(tmp_path: Path, now: datetime, algorithm: str) -> None:
    tokens = service(tmp_path, algorithm)
    token = issue(tokens, now)

    kid = key_id(private_key(algorithm).public_key())
    assert jwt.get_unverified_header(token) == {"alg": algorithm, "typ": "at+jwt", "kid": kid}
    assert tokens.access_key_id == kid
    claims = tokens.verify_access(token, now=now)
    assert (claims.user_id, claims.username, claims.session_id) == ("user-1", "alice", "session-1")


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_refresh_tokens_stay_hmac(tmp_path: Path, now: datetime, algorithm: str) -> None:
    tokens = service(tmp_path, algorithm)
    issued = tokens.issue_refresh(
        user_id="u", session_id="s", now=now, expires_at=now + timedelta(hours=1), jti="j"
    )
    assert jwt.get_unverified_header(issued.token) == {"alg": "HS256", "typ": "refresh+jwt"}
    assert tokens.verify_refresh(issued.token, now=now).jti == "j"


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_old_key_verifies_while_listed_as_previous(
    tmp_path: Path, now: datetime, algorithm: str
) -> None:
    old_token, rotated = rotated_from_key_1(tmp_path, algorithm, now)
    assert rotated.verify_access(old_token, now=now).user_id == "user-1"
    # New tokens are signed with the new key only.
    new_kid = jwt.get_unverified_header(issue(rotated, now))["kid"]
    assert new_kid == key_id(private_key(algorithm, 0).public_key())

    retired = service(tmp_path, algorithm, 0)
    assert_refused(retired, old_token, now)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_unknown_key_and_kid_are_refused(tmp_path: Path, now: datetime, algorithm: str) -> None:
    tokens = service(tmp_path, algorithm, 0, 1)
    stranger = issue(service(tmp_path, algorithm, 2), now)
    assert_refused(tokens, stranger, now)

    # The stranger's signature under a kid we know: the kid picks the key, the signature fails.
    claims = claims_of(stranger)
    for kid in (tokens.access_key_id, key_id(private_key(algorithm, 1).public_key())):
        forged = jwt.encode(
            claims,
            private_key_pem(algorithm, 2),
            algorithm=algorithm,
            headers={"typ": "at+jwt", "kid": kid},
        )
        assert_refused(tokens, forged, now)

    # Signed with the right key but naming no kid, or a kid that is not a string.
    for headers in ({"typ": "at+jwt"}, {"typ": "at+jwt", "kid": 7}):
        nameless = jwt.encode(
            claims, private_key_pem(algorithm, 0), algorithm=algorithm, headers=headers
        )
        assert_refused(tokens, nameless, now)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_hs256_signed_with_the_public_key_is_refused(
    tmp_path: Path, now: datetime, algorithm: str
) -> None:
    # The classic algorithm confusion (RFC 8725 §2.1): the public PEM used as an HMAC secret.
    tokens = service(tmp_path, algorithm)
    claims = claims_of(issue(tokens, now))
    header = {"alg": "HS256", "typ": "at+jwt", "kid": tokens.access_key_id}
    for key in (public_key_pem(algorithm).encode(), public_key_pem(algorithm).strip().encode()):
        assert_refused(tokens, hs256(header, claims, key), now)


def test_hmac_deployment_refuses_asymmetric_tokens(tmp_path: Path, now: datetime) -> None:
    tokens = TokenService(make_settings(tmp_path))
    claims = claims_of(issue(tokens, now))
    for algorithm in ALGORITHMS:
        forged = jwt.encode(
            claims,
            private_key_pem(algorithm),
            algorithm=algorithm,
            headers={"typ": "at+jwt", "kid": tokens.access_key_id},
        )
        assert_refused(tokens, forged, now)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_jwks_publishes_public_keys_that_verify_tokens(
    tmp_path: Path, now: datetime, algorithm: str
) -> None:
    old_token, tokens = rotated_from_key_1(tmp_path, algorithm, now)
    new_token = issue(tokens, now)

    jwks = tokens.public_jwks()
    kids = [key["kid"] for key in jwks["keys"]]
    assert kids == [key_id(private_key(algorithm, i).public_key()) for i in (0, 1)]
    for key in jwks["keys"]:
        assert key["alg"] == algorithm
        assert key["use"] == "sig"
        assert not PRIVATE_MEMBERS & set(key)
    by_kid = {key["kid"]: key for key in jwks["keys"]}
    for token in (new_token, old_token):
        jwk = by_kid[jwt.get_unverified_header(token)["kid"]]
        claims = jwt.decode(token, jwk, algorithms=[algorithm], audience=AUDIENCE)
        assert claims["sub"] == "user-1"


def test_hmac_previous_secrets_verify_but_never_sign(tmp_path: Path, now: datetime) -> None:
    old = TokenService(make_settings(tmp_path, access_token_secret=OLD_SECRET))
    old_token = issue(old, now)

    tokens = TokenService(make_settings(tmp_path, access_token_previous_secrets=OLD_SECRET))
    assert tokens.verify_access(old_token, now=now).user_id == "user-1"
    assert tokens.public_jwks() == {"keys": []}

    new_token = issue(tokens, now)
    assert jwt.get_unverified_header(new_token)["kid"] == hmac_key_id(ACCESS_SECRET)
    jwt.decode(new_token, ACCESS_SECRET, algorithms=["HS256"], audience=AUDIENCE)
    with pytest.raises(JWTError):
        jwt.decode(new_token, OLD_SECRET, algorithms=["HS256"], audience=AUDIENCE)

    without = TokenService(make_settings(tmp_path))
    assert_refused(without, old_token, now)


def test_hmac_kid_does_not_reveal_the_secret() -> None:
    kid = hmac_key_id(ACCESS_SECRET)
    assert ACCESS_SECRET not in kid
    assert len(kid) == 12
    assert kid != hmac_key_id(OLD_SECRET)
