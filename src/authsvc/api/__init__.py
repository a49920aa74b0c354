"""HTTP routers: parse the request, call one service method, shape the response."""

from __future__ import annotations

from fastapi import APIRouter

from authsvc.api import (
    account,
    activity,
    admin,
    auth,
    client,
    email,
    gateway,
    health,
    keys,
    metrics,
    mfa,
    passkeys,
    password_reset,
    sessions,
)
from authsvc.api.cookies import RefreshCookie
from authsvc.api.csrf import csrf_header_openapi
from authsvc.settings import Settings


def build_routers(settings: Settings) -> list[APIRouter]:
    routers = [
        auth.build_router(
            RefreshCookie.from_settings(settings), csrf_openapi=csrf_header_openapi(settings)
        ),
        passkeys.build_router(RefreshCookie.from_settings(settings)),
        account.router,
        email.router,
        mfa.router,
        password_reset.router,
        sessions.router,
        activity.router,
        admin.router,
        gateway.router,
        health.router,
        keys.router,
        client.build_router(),
    ]
    if settings.metrics_enabled:
        routers.append(metrics.router)
    return routers
