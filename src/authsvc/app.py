"""`create_app()`: builds a new application; nothing is created at import time."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from redis.asyncio import Redis
from redis.exceptions import RedisError

from authsvc import __version__
from authsvc.api import build_routers
from authsvc.api.docs import OPENAPI_PATH, install_docs
from authsvc.api.errors import install_error_handlers
from authsvc.api.gateway import VERIFY_PATH, GatewayMiddleware
from authsvc.api.metrics import METRICS_PATH
from authsvc.client_ip import ClientAddressResolver
from authsvc.clock import Clock, utc_now
from authsvc.metrics import Metrics
from authsvc.middleware import (
    AccessLogMiddleware,
    RequestIdAndSecurityHeadersMiddleware,
    RequestLimitsMiddleware,
    RequestMetricsMiddleware,
    SpaCorsMiddleware,
)
from authsvc.passwords import PasswordPolicy, PasswordService
from authsvc.readiness import Probe
from authsvc.revocation import MemoryRevocationList, RevocationList
from authsvc.revocation_redis import RedisRevocationList
from authsvc.services.authenticator import Authenticator
from authsvc.services.housekeeping import SessionPurger, periodic_purge
from authsvc.settings import Settings
from authsvc.store import Store, open_store
from authsvc.throttle import LoginThrottle, derive_key
from authsvc.tokens import TokenService

log = logging.getLogger("authsvc")


@asynccontextmanager
async def open_shared_state(
    settings: Settings, store: Store, clock: Clock
) -> AsyncIterator[tuple[RevocationList, Storage, dict[str, Probe]]]:
    """Revocations and throttle counters: in this process, or shared through Redis.

    Also yields the readiness probes of what it connected to (Redis, when configured).
    """
    # A revoked session must be remembered while its access tokens can still be valid.
    remember_for = timedelta(
        seconds=settings.access_token_ttl_seconds + settings.jwt_leeway_seconds
    )
    if settings.redis_url is None:
        memory = MemoryRevocationList(remember_for=remember_for)
        await memory.load(store, now=clock())
        yield memory, MemoryStorage(), {}
        return
    redis = Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
    await _warn_if_unreachable(redis)
    shared = RedisRevocationList(
        redis,
        store=store,
        remember_for=remember_for,
        clock=clock,
        channel=f"{settings.redis_prefix}:revocations",
    )
    await shared.start()
    counters = RedisStorage(
        "async+" + settings.redis_url,
        implementation="redispy",
        key_prefix=f"{settings.redis_prefix}:throttle",
        wrap_exceptions=True,
        # One pool for both users of Redis, closed with the client below.
        connection_pool=redis.connection_pool,  # type: ignore[arg-type]  # hint too narrow
    )
    try:
        yield shared, counters, {"redis": redis.ping}
    finally:
        await shared.close()
        await redis.aclose()


async def _warn_if_unreachable(redis: Redis) -> None:
    """Start degraded rather than not at all, but say so where an operator will look.

    Refusing to start would turn a Redis outage into a crash loop of every replica restarted
    meanwhile; serving degraded keeps them correct (revocations read from the store, throttle
    counters per process) and /readyz keeps them out of rotation until Redis answers.
    """
    try:
        await redis.ping()
    except (RedisError, OSError) as exc:
        options = redis.connection_pool.connection_kwargs
        # Host and port only: the URL may carry a password.
        where = f"{options.get('host', 'localhost')}:{options.get('port', 6379)}"
        # One line an operator can read, not a traceback: the cause is named in it.
        log.error(  # noqa: TRY400
            "REDIS_URL: Redis at %s does not answer (%s). Serving degraded: revocations are "
            "read from the store, throttle counters are kept per process, and /readyz answers "
            "503 until Redis answers.",
            where,
            type(exc).__name__,
        )


def create_app(settings: Settings | None = None, *, clock: Clock = utc_now) -> FastAPI:
    settings = settings or Settings()
    # Built before the app so bad keys fail here, at startup, not at the first request.
    tokens = TokenService(settings)
    metrics = Metrics.from_environment() if settings.metrics_enabled else None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.has_ephemeral_secrets:
            log.warning(
                "DEVELOPMENT MODE: signing secrets were generated for this process only; every "
                "token dies when it stops. Set ACCESS_TOKEN_SECRET and REFRESH_TOKEN_SECRET."
            )
        PasswordPolicy.warm_up()
        async with (
            open_store(settings.database_url, migrate=settings.migrate_on_start) as store,
            open_shared_state(settings, store, clock) as (revocations, throttle_storage, probes),
            periodic_purge(
                SessionPurger(store=store, settings=settings, clock=clock),
                settings.session_purge_interval_seconds,
            ),
        ):
            app.state.settings = settings
            app.state.store = store
            app.state.tokens = tokens
            app.state.passwords = passwords = PasswordService(settings)
            log.info(
                "password hashing: %d at once, up to %d more waiting; argon2 memory up to %d MiB",
                passwords.concurrency,
                settings.hash_queue_limit,
                passwords.concurrency * settings.argon2_memory_kib // 1024,
            )
            app.state.policy = PasswordPolicy(settings)
            app.state.revocations = revocations
            app.state.readiness_probes = probes
            app.state.client_addresses = ClientAddressResolver(settings.trusted_proxies)
            app.state.throttle = LoginThrottle(
                throttle_storage,
                key=derive_key(settings.secret_values()[1], "throttle keys"),
                per_ip=settings.throttle_per_ip,
                per_account_ip=settings.throttle_per_account_ip,
                per_account=settings.throttle_per_account,
                per_registration_ip=settings.throttle_registration_per_ip,
                ipv6_prefix=settings.throttle_ipv6_prefix,
                proven_for=timedelta(days=settings.throttle_proven_address_days),
            )
            app.state.clock = clock
            app.state.authenticator = Authenticator(
                tokens=tokens, revocations=revocations, clock=clock
            )
            app.state.metrics = metrics
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
    )
    install_error_handlers(app)
    if settings.docs_enabled:
        install_docs(app)
    for router in build_routers(settings):
        app.include_router(router)
    # Added innermost first: the request id wraps everything, so even a 413 carries one.
    app.add_middleware(
        RequestLimitsMiddleware,
        max_bytes=settings.max_body_bytes,
        max_header_bytes=settings.max_header_bytes,
    )
    # Outside the limits, so their refusals on the verify route reach the gateway as 401.
    app.add_middleware(GatewayMiddleware)
    if settings.allowed_origins:
        app.add_middleware(
            SpaCorsMiddleware,
            exempt_paths=(VERIFY_PATH,),
            allow_origins=settings.allowed_origins,
            allow_headers=["Authorization", "Content-Type", settings.csrf_header],
        )
    client_addresses = ClientAddressResolver(settings.trusted_proxies)
    if settings.access_log:
        # Inside the request-id middleware, so each line carries its request's id.
        app.add_middleware(AccessLogMiddleware, client_addresses=client_addresses)
    app.add_middleware(
        RequestIdAndSecurityHeadersMiddleware,
        hsts=hsts_value(settings),
        client_addresses=client_addresses,
    )
    if metrics is not None:
        app.add_middleware(RequestMetricsMiddleware, metrics=metrics, skip_paths=(METRICS_PATH,))
    return app


def hsts_value(settings: Settings) -> str | None:
    """The Strict-Transport-Security header HSTS_* ask for; None when switched off."""
    if settings.hsts_max_age_seconds == 0:
        return None
    value = f"max-age={settings.hsts_max_age_seconds}"
    return value + "; includeSubDomains" if settings.hsts_include_subdomains else value
