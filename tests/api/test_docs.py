"""The generated docs: every route of the contract, with the Bearer scheme wired, offline."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.support.apps import ClientFor
from tests.support.http import COOKIE

SPEC_ROUTES = {
    ("post", "/auth/register"),
    ("post", "/auth/login"),
    ("post", "/auth/token"),
    ("post", "/auth/refresh"),
    ("post", "/auth/logout"),
    ("post", "/auth/logout-all"),
    ("get", "/auth/me"),
    ("get", "/auth/sessions"),
    ("delete", "/auth/sessions/{session_id}"),
    ("post", "/auth/password"),
    ("get", "/auth/verify"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
}


async def test_openapi_lists_every_route(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    routes = {(method, path) for path, item in schema["paths"].items() for method in item}
    assert routes >= SPEC_ROUTES


async def test_authorize_button_uses_the_password_form_route(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    schemes = schema["components"]["securitySchemes"]
    (scheme,) = schemes.values()
    assert scheme["type"] == "oauth2"
    assert scheme["flows"]["password"]["tokenUrl"] == "/auth/token"
    me = schema["paths"]["/auth/me"]["get"]
    assert me["security"] == [{name: []} for name in schemes]
    refresh = schema["paths"]["/auth/refresh"]["post"]
    assert any(p["in"] == "cookie" and p["name"] == COOKIE for p in refresh["parameters"])


async def test_docs_page_is_served(client: httpx.AsyncClient) -> None:
    response = await client.get("/docs")
    assert response.status_code == 200
    assert "swagger-ui" in response.text


# Where the pages' scripts, styles and images may come from: this service, and nothing else.
SOURCE = re.compile(r'(?:src|href)="([^"]*)"')
ALLOWED_SOURCES = {"'self'", "'none'", "'unsafe-inline'", "data:", "blob:"}


def policy(response: httpx.Response) -> dict[str, set[str]]:
    directives = {}
    for directive in response.headers["content-security-policy"].split(";"):
        name, *sources = directive.split()
        directives[name] = set(sources)
    return directives


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_docs_pages_load_every_asset_from_this_service(
    client: httpx.AsyncClient, page: str
) -> None:
    response = await client.get(page)
    assert response.status_code == 200
    references = SOURCE.findall(response.text)
    assert references, response.text
    for reference in references:
        assert reference.startswith("/") and not reference.startswith("//"), reference
        asset = await client.get(reference)
        assert asset.status_code == 200, reference
        assert len(asset.content) > 0, reference
    assert "cdn" not in response.text.lower()
    assert "googleapis" not in response.text


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_docs_pages_allow_only_this_service_in_their_csp(
    client: httpx.AsyncClient, page: str
) -> None:
    directives = policy(await client.get(page))
    assert directives["default-src"] == {"'none'"}
    assert directives["script-src"] == {"'self'"}  # no inline script, no eval, no other host
    assert directives["frame-ancestors"] == {"'none'"}
    for name, sources in directives.items():
        assert sources <= ALLOWED_SOURCES, (name, sources)


async def test_swagger_page_runs_no_inline_script(client: httpx.AsyncClient) -> None:
    page = (await client.get("/docs")).text
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, re.DOTALL)
    for attributes, body in scripts:
        # Either loaded from a file, or a JSON data block, which browsers never execute.
        assert "src=" in attributes or 'type="application/json"' in attributes, attributes
        assert "src=" not in attributes or not body.strip()


@pytest.mark.parametrize("path", ["/auth/refresh", "/auth/logout"])
async def test_cookie_routes_declare_the_csrf_header(client: httpx.AsyncClient, path: str) -> None:
    schema = (await client.get("/openapi.json")).json()
    parameters = schema["paths"][path]["post"]["parameters"]
    (header,) = [p for p in parameters if p["in"] == "header"]
    assert header["name"] == "X-Requested-With"
    assert header["required"] is True
    assert header["example"] == "XMLHttpRequest"


async def test_routes_without_the_cookie_do_not_ask_for_the_csrf_header(
    client: httpx.AsyncClient,
) -> None:
    schema = (await client.get("/openapi.json")).json()
    for path in ("/auth/login", "/auth/token", "/auth/me", "/auth/logout-all"):
        for operation in schema["paths"][path].values():
            names = {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}
            assert "X-Requested-With" not in names, path


async def test_a_renamed_csrf_header_is_the_one_declared(client_for: ClientFor) -> None:
    async with client_for(headers=None, csrf_header="X-CSRF-Check") as client:
        schema = (await client.get("/openapi.json")).json()
    parameters = schema["paths"]["/auth/refresh"]["post"]["parameters"]
    assert [p["name"] for p in parameters if p["in"] == "header"] == ["X-CSRF-Check"]


async def test_docs_disabled_switches_off_pages_schema_and_assets(client_for: ClientFor) -> None:
    async with client_for(headers=None, docs_enabled=False) as client:
        for path in (
            "/docs",
            "/redoc",
            "/openapi.json",
            "/docs/swagger-init.js",
            "/docs/assets/swagger-ui-bundle.js",
            "/docs/oauth2-redirect",
        ):
            response = await client.get(path)
            assert response.status_code == 404, path
            assert response.json() == {"detail": "Not Found"}
        assert (await client.get("/healthz")).status_code == 200
