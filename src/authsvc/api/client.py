"""The browser client: the JavaScript module single-page apps import, served from the package."""

from __future__ import annotations

import hashlib
from importlib.resources import files
from typing import Annotated

from fastapi import APIRouter, Header, Response

# Under /auth so that a gateway which forwards only /auth/ to authsvc (deploy/nginx) serves it.
CLIENT_PATH = "/auth/client.js"
CLIENT_MEDIA_TYPE = "text/javascript; charset=utf-8"
# Revalidated on every load (a 304 when unchanged), so a page never runs a client older than
# the service it talks to.
CLIENT_CACHE_CONTROL = "public, no-cache"


def client_source() -> bytes:
    """The module's bytes, as the package ships them."""
    return (files("authsvc") / "static" / "authsvc.js").read_bytes()


def _matches(if_none_match: str, etag: str) -> bool:
    # RFC 9110 §13.1.2: weak comparison, a list of tags or "*".
    tags = (tag.strip().removeprefix("W/") for tag in if_none_match.split(","))
    return any(tag in (etag, "*") for tag in tags)


def build_router() -> APIRouter:
    """The route, with the file read once here rather than on every request."""
    source = client_source()
    etag = f'"{hashlib.sha256(source).hexdigest()[:32]}"'
    router = APIRouter(tags=["client"])

    @router.get(
        CLIENT_PATH,
        response_class=Response,
        responses={
            200: {
                "description": "The ES module (login, logout, refresh, a fetch wrapper)",
                "content": {"text/javascript": {"schema": {"type": "string"}}},
            },
            304: {"description": "Not modified since the copy named in If-None-Match"},
        },
    )
    async def client_js(
        if_none_match: Annotated[str | None, Header(max_length=1024)] = None,
    ) -> Response:
        """The browser client for single-page apps; see the README."""
        headers = {"Cache-Control": CLIENT_CACHE_CONTROL, "ETag": etag}
        if if_none_match is not None and _matches(if_none_match, etag):
            return Response(status_code=304, headers=headers)
        return Response(source, media_type=CLIENT_MEDIA_TYPE, headers=headers)

    return router
