"""What a request may be: its origin and CSRF header, its proxies, its size and its pace."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, field_validator

from authsvc.settings.sources import CommaList


def checked_origin(origin: str) -> str:
    """An origin (scheme://host[:port]) without its trailing slash.

    Raises: ValueError for anything else, a wildcard included.
    """
    parsed = urlsplit(origin)
    if (
        parsed.scheme not in ("http", "https")
        or not parsed.hostname
        or "*" in origin
        or parsed.path not in ("", "/")
        or parsed.query
        or parsed.fragment
    ):
        # A wildcard with credentials would hand every site the refresh cookie.
        raise ValueError(f"not an origin like https://app.example.com: {origin!r}")
    return origin.rstrip("/")


class RequestSettings(BaseModel):
    # Cross-site defences for the cookie routes (see api/csrf.py) and CORS for SPA origins.
    allowed_origins: CommaList[str] = Field(default_factory=list)
    csrf_header: str = Field(default="X-Requested-With", pattern=r"^[A-Za-z0-9\-]{1,64}$")
    require_csrf_header: bool = True
    # Addresses (or CIDR ranges) of proxies whose X-Forwarded-For is believed.
    trusted_proxies: CommaList[str] = Field(default_factory=list)
    max_body_bytes: int = Field(default=16_384, ge=1_024, le=1_048_576)
    max_header_bytes: int = Field(default=16_384, ge=8_192, le=1_048_576)
    # The request line's URL (path and query); longer is a 414 before the app sees it.
    max_url_bytes: int = Field(default=8_192, ge=1_024, le=65_536)
    # A request's head, then its body, must arrive within these, or the connection gets 408.
    request_header_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    request_body_timeout_seconds: float = Field(default=30.0, gt=0, le=300)

    @field_validator("allowed_origins")
    @classmethod
    def _check_origins(cls, value: list[str]) -> list[str]:
        return [checked_origin(origin) for origin in value]

    @field_validator("trusted_proxies")
    @classmethod
    def _check_proxies(cls, value: list[str]) -> list[str]:
        for proxy in value:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise ValueError(f"not an IP address or CIDR range: {proxy!r}") from None
        return value
