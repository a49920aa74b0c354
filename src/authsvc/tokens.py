"""`TokenService`: the only code that touches python-jose.

Every verification pins one algorithm, the issuer and the token type, so a refresh token can
never pass as an access token (different secret, different `typ`) and `alg` tricks find no
second algorithm to switch to (RFC 8725 §2.1, §3.1, §3.11).
"""

from __future__ import annotations

import base64
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from jose import jwt
from jose.exceptions import JOSEError

from authsvc.errors import InvalidToken
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
        self._issuer = settings.jwt_issuer
        self._audience = settings.jwt_audience
        self._leeway = settings.jwt_leeway_seconds

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
        token = jwt.encode(
            claims,
            self._keys[kind],
            algorithm=self._algorithm,
            headers={"typ": HEADER_TYP[kind]},
        )
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
            claims: dict[str, Any] = jwt.decode(
                token,
                self._keys[kind],
                algorithms=[self._algorithm],
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
