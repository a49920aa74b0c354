"""The interactive docs, `/docs` (Swagger UI) and `/redoc`, working offline.

Their scripts and styles come from the fastapi-offline package, not from a CDN, so the pages
work on a host without Internet access and behind networks that block CDNs; each page's
Content-Security-Policy allows exactly this service's own origin and nothing else.

"Try it out" works on the cookie routes too: their schema declares the header they require
(api/csrf.py), with an example value that Swagger UI fills in.
"""

from __future__ import annotations

import html
import json
from importlib.resources import files
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.openapi.docs import get_redoc_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_PATH = "/docs"
REDOC_PATH = "/redoc"
ASSETS_PATH = "/docs/assets"
INIT_PATH = "/docs/swagger-init.js"
OPENAPI_PATH = "/openapi.json"

# Swagger UI runs only our files; it draws icons from data: URIs in its stylesheet.
SWAGGER_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
# ReDoc writes its styles into the page at run time (styled-components) and runs its search
# index in a worker it builds from a blob: URL.
REDOC_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; worker-src blob:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
# What FastAPI's own Swagger page sets, minus the online validator badge (an outside call).
SWAGGER_OPTIONS: dict[str, Any] = {
    "dom_id": "#swagger-ui",
    "layout": "BaseLayout",
    "deepLinking": True,
    "showExtensions": True,
    "showCommonExtensions": True,
    "validatorUrl": None,
}


def _assets_directory() -> Path:
    """fastapi-offline's static files: swagger-ui-bundle.js, swagger-ui.css, redoc, favicon."""
    # Installed packages are directories on disk (fastapi-offline serves them the same way).
    return Path(str(files("fastapi_offline") / "static"))


def _swagger_page(root: str) -> str:
    options = {**SWAGGER_OPTIONS, "url": f"{root}{OPENAPI_PATH}"}
    # `<` escaped so no value can close the data block early.
    data = json.dumps(options).replace("<", "\\u003c")
    assets = html.escape(f"{root}{ASSETS_PATH}")
    init = html.escape(f"{root}{INIT_PATH}")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>authsvc - Swagger UI</title>
<link rel="stylesheet" href="{assets}/swagger-ui.css">
<link rel="icon" href="{assets}/favicon.png">
</head>
<body>
<div id="swagger-ui"></div>
<script type="application/json" id="swagger-ui-options">{data}</script>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script src="{init}"></script>
</body>
</html>
"""


def build_router() -> APIRouter:
    """The two pages and the Swagger UI start-up script; not part of the schema."""
    router = APIRouter(include_in_schema=False)
    init_script = (files("authsvc") / "static" / "swagger-init.js").read_bytes()

    @router.get(DOCS_PATH)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = str(request.scope.get("root_path", ""))
        return HTMLResponse(_swagger_page(root), headers={"Content-Security-Policy": SWAGGER_CSP})

    @router.get(INIT_PATH)
    async def swagger_init() -> Response:
        return Response(init_script, media_type="text/javascript; charset=utf-8")

    @router.get(REDOC_PATH)
    async def redoc(request: Request) -> HTMLResponse:
        root = str(request.scope.get("root_path", ""))
        page = get_redoc_html(
            openapi_url=f"{root}{OPENAPI_PATH}",
            title="authsvc - ReDoc",
            redoc_js_url=f"{root}{ASSETS_PATH}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS_PATH}/favicon.png",
            with_google_fonts=False,
        )
        page.headers["Content-Security-Policy"] = REDOC_CSP
        return page

    return router


def install_docs(app: FastAPI) -> None:
    """Serve /docs and /redoc, and the assets they load, from installed packages."""
    app.include_router(build_router())
    app.mount(ASSETS_PATH, StaticFiles(directory=_assets_directory()), name="docs-assets")
