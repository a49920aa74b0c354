"""GET /auth/client.js and its parts: the browser client as the package ships it, cacheable,
revalidated, and nothing else of the package."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urljoin

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
STATIC = Path(authsvc.__file__).parent / "static"
SOURCE = STATIC / "authsvc.js"
PARTS = {f"/auth/client/{path.name}": path for path in sorted((STATIC / "client").glob("*.js"))}
MODULES = {CLIENT: SOURCE, **PARTS}
SPA = "https://app.example.com"
# `import … from "./x.js"` and `export … from "./x.js"`: the specifiers a browser resolves
# against the module's own URL.
RELATIVE_IMPORT = re.compile(r'^(?:import|export)\b[^;]*?\bfrom "(\.\.?/[^"]+)";', re.MULTILINE)


def code_of_every_module() -> str:
    """The modules' code without their comments, which may name what the code must not use."""
    return "\n".join(
        line
        for path in MODULES.values()
        for line in path.read_text().splitlines()
        if not line.lstrip().startswith(("*", "//", "/*"))
    )


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


@pytest.mark.parametrize("url", [CLIENT, *PARTS])
async def test_allowed_origins_may_import_it_across_origins(tmp_path: Path, url: str) -> None:
    # A module script is fetched with CORS, the entry and each part it imports alike. The route
    # needs none of the lifespan's state, so the app runs without it.
    app = create_app(make_settings(tmp_path, allowed_origins=SPA))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        allowed = await client.get(url, headers={"Origin": SPA})
        foreign = await client.get(url, headers={"Origin": "https://evil.example"})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == SPA
    assert "access-control-allow-origin" not in foreign.headers


def test_the_module_keeps_tokens_out_of_storage_and_readable_cookies() -> None:
    code = code_of_every_module()
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
    assert f'"{detail}"' in code_of_every_module()


def test_the_entry_imports_its_parts() -> None:
    # Guards the tests below against a layout where the entry has no parts to serve.
    entry_imports = RELATIVE_IMPORT.findall(SOURCE.read_text())
    assert len(entry_imports) >= 3
    assert len(PARTS) >= 5


@pytest.mark.parametrize("url", PARTS)
async def test_serves_each_part_byte_for_byte(client: httpx.AsyncClient, url: str) -> None:
    response = await client.get(url)
    assert response.status_code == 200
    assert response.content == PARTS[url].read_bytes()
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    assert response.headers["cache-control"] == "public, no-cache"
    assert re.fullmatch(r'"[0-9a-f]{32}"', response.headers["etag"])
    assert "set-cookie" not in response.headers
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_each_module_has_an_etag_of_its_own(client: httpx.AsyncClient) -> None:
    etags = [(await client.get(url)).headers["etag"] for url in MODULES]
    assert len(set(etags)) == len(MODULES)


@pytest.mark.parametrize("url", PARTS)
async def test_a_part_is_revalidated_with_its_own_etag(client: httpx.AsyncClient, url: str) -> None:
    etag = (await client.get(url)).headers["etag"]
    unchanged = await client.get(url, headers={"If-None-Match": f"W/{etag}"})
    assert unchanged.status_code == 304
    assert unchanged.content == b""
    assert unchanged.headers["etag"] == etag
    assert unchanged.headers["cache-control"] == "public, no-cache"
    entry_etag = (await client.get(CLIENT)).headers["etag"]
    other = await client.get(url, headers={"If-None-Match": entry_etag})
    assert other.status_code == 200
    assert other.content == PARTS[url].read_bytes()


async def test_every_relative_import_resolves_to_the_file_it_names(
    client: httpx.AsyncClient,
) -> None:
    # The browser resolves a specifier against the importing module's URL; the file it means
    # sits at the same relative path in the package. Both must lead to the same bytes.
    resolved = 0
    for url, path in MODULES.items():
        for specifier in RELATIVE_IMPORT.findall(path.read_text()):
            response = await client.get(urljoin(url, specifier))
            assert response.status_code == 200, (url, specifier)
            assert response.content == (path.parent / specifier).resolve().read_bytes()
            resolved += 1
    assert resolved >= len(PARTS)


@pytest.mark.parametrize(
    "name",
    [
        "nope.js",
        "authsvc.js",
        "client.js",
        "swagger-init.js",
        "session",
        "SESSION.JS",
        "__init__.py",
    ],
)
async def test_a_name_that_is_not_a_part_is_404(client: httpx.AsyncClient, name: str) -> None:
    response = await client.get(f"/auth/client/{name}")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}


@pytest.mark.parametrize(
    "path",
    [
        "/auth/client/..%2Fauthsvc.js",
        "/auth/client/%2e%2e%2fauthsvc.js",
        "/auth/client/..%2F..%2Fapi%2Fclient.py",
        "/auth/client/..%5Cauthsvc.js",
        "/auth/client/%2e%2e",
        "/auth/client/%2e",
        "/auth/client//session.js",
        "/auth/client/session.js%00",
        "/auth/client/session.js%2F",
        "/auth/client/%2Fetc%2Fpasswd",
    ],
)
async def test_path_traversal_attempts_are_404(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}
