"""`TokenService`: the only code that touches python-jose.

Every verification pins one algorithm, the issuer and the token type, so a refresh token can
never pass as an access token (different secret, different `typ`) and `alg` tricks find no
second algorithm to switch to (RFC 8725 §2.1, §3.1, §3.11). Access tokens name their key in
`kid`; the kid selects exactly one key (current or kept for rotation), never a key set.
"""

from __future__ import annotations

import base64
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from jose import jwk, jwt
from jose.backends.base import Key
from jose.exceptions import JOSEError

from authsvc.errors import InvalidToken
from authsvc.keys import hmac_key_id, key_id, private_pem, public_jwk, public_pem
from authsvc.settings import MIN_SECRET_BYTES, Settings

TokenKind = Literal["access", "refresh"]

# RFC 9068 §2.1 names the access-token media type; refresh tokens get their own so the two
# are told apart before any claim is read.
HEADER_TYP: dict[TokenKind, str] = {"access": "at+jwt", "refresh": "refresh+jwt"}

# Anything longer is not one of ours; refusing early keeps base64/JSON work bounded.
MAX_TOKEN_CHARS = 4096

# RFC 7515 §7.1: three unpadded base64url segments and nothing else. python-jose's decoder
# skips foreign characters, padding and unused bits, so without this one token would have
# endless accepted spellings, and anything keyed on a token's text could be sidestepped.
_COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


def _is_canonical_compact(token: str) -> bool:
    if not _COMPACT_JWS.fullmatch(token):
        return False
    # Header and payload are signed as written; only the signature's spelling is free.
    signature = token.rsplit(".", 1)[1]
    try:
        raw = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    except ValueError:
        return False
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") == signature


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    jti: str
    issued_at: datetime
    expires_at: datetime

    @property
    def lifetime_seconds(self) -> int:
        return max(0, int((self.expires_at - self.issued_at).total_seconds()))


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: str
    username: str
    session_id: str
    jti: str
    issued_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class RefreshClaims:
    user_id: str
    session_id: str
    jti: str
    issued_at: datetime
    expires_at: datetime


def new_token_id() -> str:
    """A random identifier for `jti` claims: 144 bits from the OS CSPRNG."""
    return secrets.token_urlsafe(18)


class TokenService:
    """Issues and verifies the two kinds of JWT authsvc hands out."""

    def __init__(self, settings: Settings) -> None:
        access, refresh = settings.secret_values()
        for key in (access, refresh):
            # Checked here too, so no construction path can sign with a weak key.
            if len(key.encode()) < MIN_SECRET_BYTES:
                raise ValueError(f"signing keys must be at least {MIN_SECRET_BYTES} bytes")
        if secrets.compare_digest(access.encode(), refresh.encode()):
            raise ValueError("access and refresh keys must differ")
        self._keys: dict[TokenKind, str] = {"access": access, "refresh": refresh}
        self._algorithm = settings.jwt_algorithm
        # Refresh tokens are only ever read by authsvc itself: always HMAC with their own secret.
        self._refresh_algorithm = "HS256" if settings.uses_asymmetric_keys else self._algorithm
        # Access tokens: one signing key, and every key that may verify, each under its kid.
        # Parsed once here; verification hands python-jose exactly one of them, never a set.
        self._access_verify_keys: dict[str, Key] = {}
        self._public_jwks: list[dict[str, str]] = []
        private_key = settings.access_private_key
        if settings.uses_asymmetric_keys:
            if private_key is None:
                raise ValueError(f"{self._algorithm} needs a private key")
            alg = self._algorithm
            current = private_key.public_key()
            self._access_kid = settings.access_token_key_id or key_id(current)
            self._access_signing_key: Key = jwk.construct(private_pem(private_key), alg)
            for kid, public in (
                (self._access_kid, current),
                *((key_id(old), old) for old in settings.access_previous_public_keys),
            ):
                if kid not in self._access_verify_keys:
                    self._access_verify_keys[kid] = jwk.construct(public_pem(public), alg)
                    self._public_jwks.append(public_jwk(public, kid=kid, algorithm=alg))
        else:
            if private_key is not None:
                raise ValueError("an HMAC algorithm must not be given a private key")
            self._access_kid = settings.access_token_key_id or hmac_key_id(access)
            self._access_signing_key = jwk.construct(access, self._algorithm)
            self._access_verify_keys[self._access_kid] = self._access_signing_key
            for old in settings.previous_secret_values():
                if len(old.encode()) < MIN_SECRET_BYTES:
                    raise ValueError(f"signing keys must be at least {MIN_SECRET_BYTES} bytes")
                self._access_verify_keys.setdefault(
                    hmac_key_id(old), jwk.construct(old, self._algorithm)
                )
        self._issuer = settings.jwt_issuer
        self._audience = settings.jwt_audience
        self._leeway = settings.jwt_leeway_seconds
        self._access_ttl = settings.access_token_ttl_seconds

    @property
    def access_key_id(self) -> str:
        """The kid of the key that signs new access tokens."""
        return self._access_kid

    def public_jwks(self) -> dict[str, list[dict[str, str]]]:
        """RFC 7517 JWK Set of the verification keys; empty with HMAC, whose keys are secret."""
        return {"keys": [dict(key) for key in self._public_jwks]}

    def issue_access(
        self,
        *,
        user_id: str,
        username: str,
        session_id: str,
        now: datetime,
        expires_at: datetime,
    ) -> IssuedToken:
        return self._issue(
            "access",
            user_id=user_id,
            session_id=session_id,
            now=now,
            expires_at=expires_at,
            extra={"aud": self._audience, "username": username},
        )

    def issue_refresh(
        self, *, user_id: str, session_id: str, now: datetime, expires_at: datetime, jti: str
    ) -> IssuedToken:
        """`jti` is chosen by the caller, which stores its hash before the token exists."""
        return self._issue(
            "refresh",
            user_id=user_id,
            session_id=session_id,
            now=now,
            expires_at=expires_at,
            jti=jti,
        )

    def verify_access(self, token: str, *, now: datetime) -> AccessClaims:
        """Raises: InvalidToken for anything but a valid, current access token."""
        claims = self._verify("access", token, now=now)
        # A revocation is remembered for one configured TTL plus leeway (revocation.py). A
        # token minted under a longer TTL, before a restart or on a replica not yet changed,
        # would outlive that memory, so lowering the TTL would revive revoked sessions. Both
        # times come from the issuer's one clock: no leeway is due on their difference.
        if claims["exp"] - claims["iat"] > self._access_ttl:
            raise InvalidToken("access token outlives the configured lifetime")
        username = claims.get("username")
        if not isinstance(username, str) or not username:
            raise InvalidToken("access token without username")
        return AccessClaims(
            user_id=claims["sub"],
            username=username,
            session_id=claims["sid"],
            jti=claims["jti"],
            issued_at=_from_epoch(claims["iat"]),
            expires_at=_from_epoch(claims["exp"]),
        )

    def verify_refresh(self, token: str, *, now: datetime) -> RefreshClaims:
        """Raises: InvalidToken for anything but a valid, current refresh token."""
        claims = self._verify("refresh", token, now=now)
        return RefreshClaims(
            user_id=claims["sub"],
            session_id=claims["sid"],
            jti=claims["jti"],
            issued_at=_from_epoch(claims["iat"]),
            expires_at=_from_epoch(claims["exp"]),
        )

    def _issue(
        self,
        kind: TokenKind,
        *,
        user_id: str,
        session_id: str,
        now: datetime,
        expires_at: datetime,
        jti: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> IssuedToken:
        jti = jti or new_token_id()
        claims: dict[str, Any] = {
            "iss": self._issuer,
            "sub": user_id,
            "sid": session_id,
            "jti": jti,
            "type": kind,
            "iat": int(now.timestamp()),
            "exp": int(expires_at.timestamp()),
            **(extra or {}),
        }
        headers = {"typ": HEADER_TYP[kind]}
        key: str | Key = self._keys[kind]
        algorithm = self._algorithm if kind == "access" else self._refresh_algorithm
        if kind == "access":
            headers["kid"] = self._access_kid
            key = self._access_signing_key
        token = jwt.encode(claims, key, algorithm=algorithm, headers=headers)
        return IssuedToken(
            token=token,
            jti=jti,
            issued_at=_from_epoch(claims["iat"]),
            expires_at=_from_epoch(claims["exp"]),
        )

    def _verify(self, kind: TokenKind, token: str, *, now: datetime) -> dict[str, Any]:
        if not token or len(token) > MAX_TOKEN_CHARS:
            raise InvalidToken("token missing or too long")
        if not _is_canonical_compact(token):
            raise InvalidToken("not a compact JWS in canonical base64url")
        try:
            header = jwt.get_unverified_header(token)
            if header.get("typ") != HEADER_TYP[kind]:
                raise InvalidToken("wrong token type")
            key: str | Key = self._keys[kind]
            algorithm = self._refresh_algorithm
            if kind == "access":
                kid = header.get("kid")
                found = self._access_verify_keys.get(kid) if isinstance(kid, str) else None
                if found is None:
                    raise InvalidToken("unknown key id")
                key, algorithm = found, self._algorithm
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                issuer=self._issuer,
                audience=self._audience if kind == "access" else None,
                options={
                    "require_iat": True,
                    "require_exp": True,
                    "require_iss": True,
                    "require_sub": True,
                    "require_jti": True,
                    "require_aud": kind == "access",
                    "verify_aud": kind == "access",
                    "leeway": self._leeway,
                },
            )
        except JOSEError as exc:
            raise InvalidToken("token rejected") from exc
        except (ValueError, TypeError, AttributeError, OverflowError) as exc:
            # Malformed headers (not an object, bad base64) surface as plain errors.
            raise InvalidToken("malformed token") from exc

        if claims.get("type") != kind:
            raise InvalidToken("wrong token type")
        for name in ("sub", "sid", "jti"):
            if not isinstance(claims.get(name), str) or not claims[name]:
                raise InvalidToken(f"claim {name} missing")
        issued_at = claims["iat"]
        if not _is_numeric_date(issued_at):
            raise InvalidToken("iat is not a number")
        # jose only checks that iat is a number; a token minted in the future is forged or
        # from a clock gone wrong, either way not to be trusted.
        if issued_at > now.timestamp() + self._leeway:
            raise InvalidToken("token issued in the future")
        expires_at = claims["exp"]
        if not _is_numeric_date(expires_at):
            raise InvalidToken("exp is not a number")
        # jose checks exp against the wall clock; this checks it against the service clock
        # too, so token expiry and session expiry are decided by the same notion of now.
        if expires_at + self._leeway <= now.timestamp():
            raise InvalidToken("token expired")
        return claims


# The NumericDates a datetime can hold; anything outside is not a token we issued.
_EPOCH_MIN = int(datetime.min.replace(tzinfo=UTC).timestamp())
_EPOCH_MAX = int(datetime.max.replace(tzinfo=UTC, microsecond=0).timestamp())


def _is_numeric_date(value: object) -> bool:
    return type(value) is int and _EPOCH_MIN <= value <= _EPOCH_MAX


def _from_epoch(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)
