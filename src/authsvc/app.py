"""`create_app()`: builds a new application; nothing is created at import time."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.telemetry import TelemetryConfig

from authsvc import __version__
from authsvc.api import build_routers
from authsvc.api.account import me_route
from authsvc.api.cookies import RefreshCookie
from authsvc.api.current_user import CurrentUserMiddleware
from authsvc.api.docs import OPENAPI_PATH, install_docs
from authsvc.api.errors import install_error_handlers
from authsvc.api.forward_auth import ForwardAuthEndpoint
from authsvc.api.gateway import VERIFY_PATH, GatewayMiddleware, verify_route
from authsvc.api.lean import post_route
from authsvc.api.lean_login import LOGIN_PATH, LoginEndpoint
from authsvc.api.lean_refresh import REFRESH_PATH, RefreshEndpoint
from authsvc.api.metrics import METRICS_PATH
from authsvc.client_ip import ClientAddressResolver
from authsvc.clock import Clock, utc_now
from authsvc.container import open_services
from authsvc.keys import KeyRing
from authsvc.metrics import Metrics
from authsvc.middleware import (
    RequestLimitsMiddleware,
    RequestRecordMiddleware,
    SpaCorsMiddleware,
)
from authsvc.settings import Settings
from authsvc.startup_heap import freeze_startup_objects

log = logging.getLogger("authsvc")


def create_app(
    settings: Settings | None = None, *, clock: Clock = utc_now, serving: bool = False
) -> FastAPI:
    """`serving`: the app of an `authsvc serve` process, which keeps what it built at
    startup out of the garbage collector's full collections (startup_heap.py)."""
    settings = settings or Settings()
    # Built with the app: the request-metrics middleware exists before the lifespan starts.
    metrics = Metrics.from_environment() if settings.metrics_enabled else None
    # Read once, here, so bad key material is refused before the app exists.
    keys = KeyRing.from_settings(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.has_ephemeral_secrets:
            log.warning(
                "DEVELOPMENT MODE: signing secrets were generated for this process only; every "
                "token dies when it stops. Set ACCESS_TOKEN_SECRET and REFRESH_TOKEN_SECRET."
            )
        async with open_services(settings, clock=clock, metrics=metrics, keys=keys) as services:
            app.state.services = services
            if serving:
                freeze_startup_objects()
            yield

    app = FastAPI(
        title="authsvc",
        version=__version__,
        summary="Short-lived JWT access tokens, rotating refresh cookies, revocable sessions.",
        lifespan=lifespan,
        # Starlette's slash redirect builds an absolute URL from the Host header and keeps
        # the method and body: an open redirect for credentials. The other form is a 404.
        redirect_slashes=False,
        responses={431: {"description": "Request headers too large"}},
        # FastAPI's own pages load their assets from a CDN; api/docs.py serves them instead.
        docs_url=None,
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
        openapi_url=OPENAPI_PATH if settings.docs_enabled else None,
        telemetry=telemetry_config(settings),
    )
    install_error_handlers(app)
    if settings.docs_enabled:
        install_docs(app)
    routers = build_routers(settings)
    for router in routers:
        app.include_router(router)
    # Added innermost first: the request record (its id, the security headers, the access line
    # and the metrics) wraps everything, so even a 413 carries an id and is logged and counted.
    limits = {"max_bytes": settings.max_body_bytes, "max_header_bytes": settings.max_header_bytes}
    # A successful /auth/me skips the router too (api/current_user.py), behind the limits.
    app.add_middleware(CurrentUserMiddleware, route=me_route())
    app.add_middleware(RequestLimitsMiddleware, **limits)
    # Outside the limits, so their refusals on the verify route reach the gateway as 401. The
    # verify path skips the router: the gateway's check is the hot path (api/forward_auth.py).
    verify_endpoint = ForwardAuthEndpoint(route=verify_route())
    # So does the refresh POST, browsers' most frequent call (api/lean_refresh.py).
    cookie = RefreshCookie.from_settings(settings)
    routes = [route for router in routers for route in router.routes]
    refresh_endpoint = RefreshEndpoint(cookie, route=post_route(routes, REFRESH_PATH))
    # And the login POST: its hashing threads want the loop's CPU (api/lean_login.py).
    login_route = post_route(routes, LOGIN_PATH)
    app.add_middleware(
        GatewayMiddleware,
        endpoint=RequestLimitsMiddleware(verify_endpoint, **limits),
        refresh=RequestLimitsMiddleware(refresh_endpoint, **limits),
        login=lambda routed: RequestLimitsMiddleware(
            LoginEndpoint(cookie, route=login_route, routed=routed), **limits
        ),
    )
    if settings.allowed_origins:
        app.add_middleware(
            SpaCorsMiddleware,
            exempt_paths=(VERIFY_PATH,),
            allow_origins=settings.allowed_origins,
            allow_headers=["Authorization", "Content-Type", settings.csrf_header],
        )
    app.add_middleware(
        RequestRecordMiddleware,
        hsts=hsts_value(settings),
        client_addresses=ClientAddressResolver(settings.trusted_proxies),
        access_log=settings.access_log,
        metrics=metrics,
        unmetered_paths=(METRICS_PATH,),
    )
    return app


def telemetry_config(settings: Settings) -> TelemetryConfig:
    """FastAPI's OpenTelemetry bridge as OPENTELEMETRY asks: FastAPI's defaults when on."""
    if settings.opentelemetry:
        return {}
    # Off, FastAPI skips its per-request check of the global providers.
    return {"tracing": False, "metrics": False, "logs": False}


def hsts_value(settings: Settings) -> str | None:
    """The Strict-Transport-Security header HSTS_* ask for; None when switched off."""
    if settings.hsts_max_age_seconds == 0:
        return None
    value = f"max-age={settings.hsts_max_age_seconds}"
    return value + "; includeSubDomains" if settings.hsts_include_subdomains else value
