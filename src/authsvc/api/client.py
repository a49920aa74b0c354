"""The browser client: the JavaScript modules single-page apps import, served from the package.

The entry, `/auth/client.js`, imports its parts by relative paths, which the browser resolves
to `/auth/client/<name>.js`; so the modules load wherever `/auth/` is forwarded to authsvc.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib.resources import files
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Response

from authsvc.api.responses import Responses

# Under /auth so that a gateway which forwards only /auth/ to authsvc (deploy/nginx) serves it.
CLIENT_PATH = "/auth/client.js"
PART_PATH = "/auth/client/{part}"
CLIENT_MEDIA_TYPE = "text/javascript; charset=utf-8"
# Revalidated on every load (a 304 when unchanged), so a page never runs a client older than
# the service it talks to.
CLIENT_CACHE_CONTROL = "public, no-cache"

IfNoneMatch = Annotated[str | None, Header(max_length=1024)]


@dataclass(frozen=True, slots=True)
class ModuleFile:
    """One module's bytes and the validator that names this version of them."""

    source: bytes
    etag: str

    @classmethod
    def of(cls, source: bytes) -> ModuleFile:
        return cls(source, f'"{hashlib.sha256(source).hexdigest()[:32]}"')

    def answer(self, if_none_match: str | None) -> Response:
        """The module, or 304 when the browser's copy is this version."""
        headers = {"Cache-Control": CLIENT_CACHE_CONTROL, "ETag": self.etag}
        if if_none_match is not None and _matches(if_none_match, self.etag):
            return Response(status_code=304, headers=headers)
        return Response(self.source, media_type=CLIENT_MEDIA_TYPE, headers=headers)


def client_source() -> bytes:
    """The entry module's bytes, as the package ships them."""
    return (files("authsvc") / "static" / "authsvc.js").read_bytes()


def client_parts() -> dict[str, bytes]:
    """The entry's parts by file name: the `.js` files the package ships in static/client/.

    These names are the whole allowlist of `/auth/client/{part}`; a request's path is looked
    up among them, never joined onto a directory.
    """
    folder = files("authsvc") / "static" / "client"
    return {
        entry.name: entry.read_bytes()
        for entry in folder.iterdir()
        if entry.is_file() and entry.name.endswith(".js")
    }


def _matches(if_none_match: str, etag: str) -> bool:
    # RFC 9110 §13.1.2: weak comparison, a list of tags or "*".
    tags = (tag.strip().removeprefix("W/") for tag in if_none_match.split(","))
    return any(tag in (etag, "*") for tag in tags)


def _module_responses(description: str) -> Responses:
    return {
        200: {
            "description": description,
            "content": {"text/javascript": {"schema": {"type": "string"}}},
        },
        304: {"description": "Not modified since the copy named in If-None-Match"},
    }


def build_router() -> APIRouter:
    """The routes, with the files read once here rather than on every request."""
    entry = ModuleFile.of(client_source())
    parts = {name: ModuleFile.of(source) for name, source in client_parts().items()}
    router = APIRouter(tags=["client"])

    @router.get(
        CLIENT_PATH,
        response_class=Response,
        responses=_module_responses("The ES module (login, logout, refresh, a fetch wrapper)"),
    )
    async def client_js(if_none_match: IfNoneMatch = None) -> Response:
        """The browser client for single-page apps; see the README."""
        return entry.answer(if_none_match)

    @router.get(
        PART_PATH,
        response_class=Response,
        responses={
            **_module_responses("A part of the ES module, which the entry imports"),
            404: {"description": "No such part"},
        },
    )
    async def client_part(part: str, if_none_match: IfNoneMatch = None) -> Response:
        """A part of the browser client; the entry and the parts import them by relative paths."""
        module = parts.get(part)
        if module is None:
            raise HTTPException(status_code=404)
        return module.answer(if_none_match)

    return router
