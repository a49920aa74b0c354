"""`TokenService`: with the token types it is built from, the only code that touches python-jose.

Every verification pins one algorithm, the issuer and the token type, so a refresh token can
never pass as an access token (different secret, different `typ`) and `alg` tricks find no
second algorithm to switch to (RFC 8725 §2.1, §3.1, §3.11). Access tokens name their key in
`kid`; the kid selects exactly one key (current or kept for rotation), never a key set.
Each kind is data (`TokenType`): one verification path serves both.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from jose import jws, jwt
from jose.exceptions import JOSEError
from jose.utils import base64url_decode

from authsvc.amr import PWD
from authsvc.errors import InvalidToken
from authsvc.keys import KeyRing
from authsvc.settings import Settings
from authsvc.token_format import is_canonical_compact, is_numeric_date
from authsvc.token_types import HEADER_TYP, TokenKind, token_types

__all__ = [
    "HEADER_TYP",
    "MAX_TOKEN_CHARS",
    "AccessClaims",
    "IssuedToken",
    "RefreshClaims",
    "TokenKind",
    "TokenService",
    "new_token_id",
    "token_hash",
]

# Anything longer is not one of ours; refusing early keeps base64/JSON work bounded.
MAX_TOKEN_CHARS = 4096


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
    # The user's roles when the token was issued; rotation issues the current ones.
    roles: tuple[str, ...] = ()
    # How the session's user signed in (RFC 8176), the same for the session's whole life.
    amr: tuple[str, ...] = (PWD,)


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


def token_hash(jti: str) -> str:
    """What the store keeps of a refresh token's `jti`."""
    # The jti has 144 random bits, so a fast hash suffices: a stolen table reveals nothing
    # that can be presented as a refresh token.
    return hashlib.sha256(jti.encode()).hexdigest()


class TokenService:
    """Issues and verifies the two kinds of JWT authsvc hands out."""

    def __init__(self, settings: Settings, *, keys: KeyRing | None = None) -> None:
        """`keys` defaults to the ring `settings` describe.

        Raises: ValueError when the key material is missing or unfit.
        """
        self._keys = keys if keys is not None else KeyRing.from_settings(settings)
        self._types = token_types(self._keys, settings)
        self._issuer = settings.jwt_issuer
        self._leeway = settings.jwt_leeway_seconds

    @property
    def leeway_seconds(self) -> int:
        """The clock-skew allowance on `iat` and `exp` (JWT_LEEWAY_SECONDS)."""
        return self._leeway

    @property
    def access_key_id(self) -> str:
        """The kid of the key that signs new access tokens."""
        return self._keys.kid

    def public_jwks(self) -> dict[str, list[dict[str, str]]]:
        """RFC 7517 JWK Set of the verification keys; empty with HMAC, whose keys are secret."""
        return self._keys.public_jwks()

    def issue_access(
        self,
        *,
        user_id: str,
        username: str,
        session_id: str,
        now: datetime,
        expires_at: datetime,
        roles: tuple[str, ...] = (),
        amr: tuple[str, ...] = (PWD,),
    ) -> IssuedToken:
        return self._issue(
            "access",
            user_id=user_id,
            session_id=session_id,
            now=now,
            expires_at=expires_at,
            extra={"username": username, "roles": list(roles), "amr": list(amr)},
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
        return AccessClaims(
            user_id=claims["sub"],
            username=claims["username"],
            session_id=claims["sid"],
            jti=claims["jti"],
            issued_at=_from_epoch(claims["iat"]),
            expires_at=_from_epoch(claims["exp"]),
            roles=_names("roles", claims.get("roles", [])),
            amr=_names("amr", claims.get("amr", [PWD])),
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
        spec = self._types[kind]
        jti = jti or new_token_id()
        claims: dict[str, Any] = {
            "iss": self._issuer,
            "sub": user_id,
            "sid": session_id,
            "jti": jti,
            "type": kind,
            "iat": int(now.timestamp()),
            "exp": int(expires_at.timestamp()),
            **({"aud": spec.audience} if spec.audience is not None else {}),
            **(extra or {}),
        }
        headers = {"typ": spec.header_typ}
        if spec.kid is not None:
            headers["kid"] = spec.kid
        token = jwt.encode(claims, spec.signing_key, algorithm=spec.algorithm, headers=headers)
        return IssuedToken(
            token=token,
            jti=jti,
            issued_at=_from_epoch(claims["iat"]),
            expires_at=_from_epoch(claims["exp"]),
        )

    def _verify(self, kind: TokenKind, token: str, *, now: datetime) -> dict[str, Any]:
        if not token or len(token) > MAX_TOKEN_CHARS:
            raise InvalidToken("token missing or too long")
        if not is_canonical_compact(token):
            raise InvalidToken("not a compact JWS in canonical base64url")
        spec = self._types[kind]
        try:
            header = _header(token)
            if header.get("typ") != spec.header_typ:
                raise InvalidToken("wrong token type")
            # The signature is python-jose's to check; the claims are checked below, against
            # the service's clock. `jwt.decode` would check most of them a second time and
            # parse the token three times over, on every rotation and uncached verification.
            payload = jws.verify(token, spec.key_for(header), algorithms=[spec.algorithm])
            claims = json.loads(payload.decode("utf-8"))
        except JOSEError as exc:
            raise InvalidToken("token rejected") from exc
        except (ValueError, TypeError, AttributeError, OverflowError, RecursionError) as exc:
            # Malformed segments (bad base64, bad UTF-8, not JSON, JSON nested past the
            # parser's depth) surface as plain errors.
            raise InvalidToken("malformed token") from exc
        if not isinstance(claims, dict):
            raise InvalidToken("claims are not a JSON object")

        if claims.get("iss") != self._issuer:
            raise InvalidToken("wrong issuer")
        if spec.audience is not None and not _names_audience(claims.get("aud"), spec.audience):
            raise InvalidToken("wrong audience")
        if claims.get("type") != kind:
            raise InvalidToken("wrong token type")
        for name in ("sub", "sid", "jti", *spec.string_claims):
            if not isinstance(claims.get(name), str) or not claims[name]:
                raise InvalidToken(f"claim {name} missing")
        latest_start = now.timestamp() + self._leeway
        issued_at = claims.get("iat")
        if not is_numeric_date(issued_at):
            raise InvalidToken("iat missing or not a number")
        # A token minted in the future is forged or from a clock gone wrong, either way not
        # to be trusted.
        if issued_at > latest_start:
            raise InvalidToken("token issued in the future")
        # authsvc issues no `nbf`; one that is there still binds (RFC 7519 §4.1.5).
        if "nbf" in claims and not (
            is_numeric_date(claims["nbf"]) and claims["nbf"] <= latest_start
        ):
            raise InvalidToken("token not yet valid")
        expires_at = claims.get("exp")
        if not is_numeric_date(expires_at):
            raise InvalidToken("exp missing or not a number")
        # Against the service clock, so token expiry and session expiry are decided by the
        # same notion of now.
        if expires_at + self._leeway <= now.timestamp():
            raise InvalidToken("token expired")
        # A revocation is remembered for one configured access TTL plus leeway (revocation.py).
        # A token minted under a longer TTL, before a restart or on a replica not yet changed,
        # would outlive that memory, so lowering the TTL would revive revoked sessions. Both
        # times come from the issuer's one clock: no leeway is due on their difference.
        if spec.max_lifetime_seconds is not None and (
            expires_at - issued_at > spec.max_lifetime_seconds
        ):
            raise InvalidToken("token outlives the configured lifetime")
        return claims


def _header(token: str) -> dict[str, Any]:
    """The JOSE header of a token already known to be canonical compact JWS.

    Raises: InvalidToken unless it is a JSON object; ValueError for bad base64 or JSON.
    """
    header = json.loads(base64url_decode(token.partition(".")[0].encode("ascii")).decode("utf-8"))
    if not isinstance(header, dict):
        raise InvalidToken("header is not a JSON object")
    return header


def _names_audience(claim: object, audience: str) -> bool:
    """RFC 7519 §4.1.3: `aud` is one string or a list of them, and must name this audience.

    Raises: InvalidToken when it is neither.
    """
    return audience in _names("aud", [claim] if isinstance(claim, str) else claim)


def _names(claim: str, value: object) -> tuple[str, ...]:
    """A claim that lists names: `roles`, absent in tokens issued before roles existed, which
    hold none; `amr`, absent in tokens issued before it existed, all of password logins;
    `aud` in its list form.

    Raises: InvalidToken unless it is a list of strings.
    """
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        raise InvalidToken(f"{claim} claim malformed")
    return tuple(value)


def _from_epoch(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)
