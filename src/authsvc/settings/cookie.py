"""What browsers are told: the refresh cookie's attributes, and Strict-Transport-Security."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

# The refresh cookie's name, with the __Host- prefix wherever the deployment allows it.
PLAIN_COOKIE_NAME = "refresh_token"
HOST_COOKIE_NAME = "__Host-" + PLAIN_COOKIE_NAME


class CookieSettings(BaseModel):
    # Unset, the name and path follow from the rest (see `_resolve_cookie`).
    cookie_name: str = Field(default=PLAIN_COOKIE_NAME, pattern=r"^[A-Za-z0-9_\-]{1,64}$")
    cookie_samesite: Literal["strict", "lax", "none"] = "strict"
    cookie_secure: bool = True
    cookie_path: str = Field(default="/auth", pattern=r"^/[A-Za-z0-9_\-/.]*$")
    cookie_domain: str | None = None
    # Strict-Transport-Security on answers to HTTPS requests (direct, or X-Forwarded-Proto from
    # a trusted proxy); 0 sends none.
    hsts_max_age_seconds: int = Field(default=31_536_000, ge=0, le=63_072_000)
    hsts_include_subdomains: bool = False

    def _resolve_cookie(self) -> None:
        """Fill in the name and path left unset. Run by `Settings._check_model`."""
        # RFC 6265bis §4.1.3.2: browsers accept a __Host- cookie only when it is Secure, has
        # Path=/ and no Domain, so no sibling subdomain and no plain-http page can plant one
        # under our name. Where the deployment rules that out, the plain name keeps Path=/auth.
        explicit = self.model_fields_set
        if "cookie_name" not in explicit:
            host_only = self.cookie_secure and self.cookie_domain is None
            path_allows = "cookie_path" not in explicit or self.cookie_path == "/"
            self.cookie_name = HOST_COOKIE_NAME if host_only and path_allows else PLAIN_COOKIE_NAME
        prefix = self.cookie_name.lower()
        if "cookie_path" not in explicit and prefix.startswith("__host-"):
            self.cookie_path = "/"
        # Browsers compare the prefixes case-insensitively and silently drop a cookie that
        # breaks their rules: refuse such a setup here instead.
        if prefix.startswith("__host-") and (
            not self.cookie_secure or self.cookie_domain is not None or self.cookie_path != "/"
        ):
            raise ValueError(
                "a __Host- COOKIE_NAME needs COOKIE_SECURE=true, no COOKIE_DOMAIN and COOKIE_PATH=/"
            )
        if prefix.startswith("__secure-") and not self.cookie_secure:
            raise ValueError("a __Secure- COOKIE_NAME needs COOKIE_SECURE=true")
