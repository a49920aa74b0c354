"""GET /auth/client.js: the browser client as the package ships it, cacheable, revalidated."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

import authsvc
from authsvc.api.errors import HTTP_STATUS
from authsvc.app import create_app
from authsvc.errors import (
    AuthError,
    InvalidToken,
    NotAuthenticated,
    RefreshReused,
    SessionEnded,
    WrongPassword,
)
from tests.support.http import BASE_URL
from tests.support.settings import make_settings

CLIENT = "/auth/client.js"
SOURCE = Path(authsvc.__file__).parent / "static" / "authsvc.js"
SPA = "https://app.example.com"


async def test_serves_the_module_file_byte_for_byte(client: httpx.AsyncClient) -> None:
    response = await client.get(CLIENT)
    assert response.status_code == 200
    assert response.content == SOURCE.read_bytes()
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    assert response.headers["cache-control"] == "public, no-cache"
    assert re.fullmatch(r'"[0-9a-f]{32}"', response.headers["etag"])
    assert "set-cookie" not in response.headers
    # A script, not a document: the hardening headers change nothing for the page importing it.
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-security-policy"].startswith("default-src 'none'")


@pytest.mark.parametrize("form", ["{etag}", "W/{etag}", '"other", {etag}', "*"])
async def test_an_unchanged_copy_is_revalidated_with_304(
    client: httpx.AsyncClient, form: str
) -> None:
    etag = (await client.get(CLIENT)).headers["etag"]
    response = await client.get(CLIENT, headers={"If-None-Match": form.format(etag=etag)})
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == etag


async def test_another_copy_gets_the_module_again(client: httpx.AsyncClient) -> None:
    response = await client.get(CLIENT, headers={"If-None-Match": '"0123", W/"4567"'})
    assert response.status_code == 200
    assert response.content == SOURCE.read_bytes()


async def test_allowed_origins_may_import_it_across_origins(tmp_path: Path) -> None:
    # The route needs none of the lifespan's state, so the app runs without it.
    app = create_app(make_settings(tmp_path, allowed_origins=SPA))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        allowed = await client.get(CLIENT, headers={"Origin": SPA})
        foreign = await client.get(CLIENT, headers={"Origin": "https://evil.example"})
    assert allowed.headers["access-control-allow-origin"] == SPA
    assert "access-control-allow-origin" not in foreign.headers


def test_the_module_keeps_tokens_out_of_storage_and_readable_cookies() -> None:
    code = "\n".join(
        line
        for line in SOURCE.read_text().splitlines()
        if not line.lstrip().startswith(("*", "//", "/*"))
    )
    for api in ("localStorage", "sessionStorage", "indexedDB", "document.cookie", "caches"):
        assert api not in code
    # Cookies travel only to the cookie routes.
    assert code.count('credentials: "include"') == 1


@pytest.mark.parametrize(
    "error", [NotAuthenticated, InvalidToken, SessionEnded, RefreshReused, WrongPassword]
)
def test_the_module_knows_the_401_answers_it_tells_apart(error: type[AuthError]) -> None:
    # The client tells why a session ended (and a wrong password from an ended session) by
    # the detail of authsvc's 401; a renamed detail must not silently turn into another reason.
    status, detail = HTTP_STATUS[error]
    assert status == 401
    assert f'"{detail}"' in SOURCE.read_text()
