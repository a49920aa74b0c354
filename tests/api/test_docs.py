"""The generated docs: every route of the contract, with the Bearer scheme wired."""

from __future__ import annotations

import httpx

from tests.support import COOKIE

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
