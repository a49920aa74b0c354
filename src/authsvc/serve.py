"""Running the HTTP service: in this process, or in N uvicorn worker processes.

One worker runs the app in the process that was started, as a single replica always has.
Several workers are several replicas sharing one socket, so they need what replicas need:
Redis for revocations and throttle counters, the same signing secrets, and one place where
their metrics meet (prometheus-client's multiprocess mode, see `metrics.py`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

from authsvc.api.gateway import VERIFY_PATH
from authsvc.http_protocol import BoundedHttpToolsProtocol, HttpLimits
from authsvc.logs import configure_logging
from authsvc.metrics import MULTIPROC_DIR_ENV
from authsvc.settings import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI

# uvicorn imports this in every worker it spawns, so it must be an import string.
WORKER_APP = "authsvc.serve:worker_app"
METRICS_DIR_PREFIX = "authsvc-metrics-"
WORKER_HEALTHCHECK_SECONDS = 30
# A worker alone on its socket drains the accept queue every turn (accept_loop.py); workers
# sharing one keep uvloop's single accept, which leaves a burst of connections to be shared
# (draining it in both of two workers measured no better).
SINGLE_WORKER_LOOP = "authsvc.accept_loop:new_event_loop"


class _UvicornOptions(TypedDict):
    host: str
    port: int
    log_config: None
    server_header: bool
    proxy_headers: bool
    access_log: bool
    timeout_graceful_shutdown: int
    # A protocol factory: uvicorn calls it like a class, and pickles it for its workers.
    http: Any
    ws: str


class ServeRefused(Exception):
    """A configuration that must not be served with the requested number of workers."""


def check_workers(settings: Settings, workers: int) -> None:
    """Raises: ServeRefused when `workers` processes could not act as one service."""
    if workers < 1:
        raise ServeRefused("--workers must be at least 1")
    if workers == 1:
        return
    if settings.redis_url is None:
        raise ServeRefused(
            f"--workers {workers} needs REDIS_URL: without it each worker keeps its own "
            "revocation list and throttle counters, so a logout handled by one worker would "
            "not be seen by the others"
        )
    if settings.has_ephemeral_secrets:
        raise ServeRefused(
            f"--workers {workers} needs ACCESS_TOKEN_SECRET and REFRESH_TOKEN_SECRET: "
            "development mode would generate different secrets in each worker"
        )


def serve(settings: Settings, *, host: str, port: int, workers: int) -> None:
    """Serve until SIGTERM/SIGINT. Raises: ServeRefused."""
    import uvicorn

    check_workers(settings, workers)
    options = _UvicornOptions(
        host=host,
        port=port,
        log_config=None,
        server_header=False,
        proxy_headers=False,
        # The app logs requests itself (RequestRecordMiddleware): uvicorn's line has the query
        # string and the proxy's address.
        access_log=False,
        timeout_graceful_shutdown=settings.shutdown_timeout_seconds,
        http=partial(BoundedHttpToolsProtocol, limits=http_limits(settings)),
        # No route is a WebSocket: an upgrade request is answered as the HTTP request it is,
        # and no WebSocket library is loaded (about 2 MiB of a PostgreSQL worker).
        ws="none",
    )
    configure_logging(settings.log_level)
    if workers == 1:
        from authsvc.app import create_app

        with _metrics_directory(create=False, enabled=settings.metrics_enabled):
            uvicorn.run(create_app(settings, serving=True), loop=SINGLE_WORKER_LOOP, **options)
        return
    # Every worker builds its own Settings from the environment these were validated from.
    with _metrics_directory(create=True, enabled=settings.metrics_enabled):
        uvicorn.run(
            WORKER_APP,
            factory=True,
            workers=workers,
            # uvicorn kills a worker that does not answer its ping in time, and a worker only
            # starts answering once its interpreter is up: 5 s (the default) is too tight
            # for a busy host starting several of them at once.
            timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
            **options,
        )


def http_limits(settings: Settings) -> HttpLimits:
    return HttpLimits(
        max_url_bytes=settings.max_url_bytes,
        max_header_bytes=settings.max_header_bytes,
        header_timeout_seconds=settings.request_header_timeout_seconds,
        body_timeout_seconds=settings.request_body_timeout_seconds,
        deny_only_paths=(VERIFY_PATH,),
    )


def worker_app() -> FastAPI:
    """The app of one worker process; uvicorn calls this after spawning it."""
    from authsvc.app import create_app

    settings = Settings()
    # A spawned worker starts with a bare interpreter: logging is set up again here.
    configure_logging(settings.log_level)
    return create_app(settings, serving=True)


@contextmanager
def _metrics_directory(*, create: bool, enabled: bool) -> Iterator[None]:
    """Where every process writes its metric values when there are several of them.

    An operator's PROMETHEUS_MULTIPROC_DIR is used as given, emptied of the previous run's
    files (counters restart with the service, as Prometheus expects). Otherwise, with several
    workers, a private directory lives exactly as long as this command.
    """
    given = os.environ.get(MULTIPROC_DIR_ENV)
    if not enabled or (not given and not create):
        yield
        return
    if given:
        directory = Path(given)
        if not directory.is_dir():
            raise ServeRefused(f"{MULTIPROC_DIR_ENV}={given} is not a directory")
        for stale in directory.glob("*.db"):
            stale.unlink(missing_ok=True)
        yield
        return
    private = tempfile.mkdtemp(prefix=METRICS_DIR_PREFIX)
    # Set before uvicorn spawns the workers: they inherit it and prometheus-client reads it
    # when they import it.
    os.environ[MULTIPROC_DIR_ENV] = private
    try:
        yield
    finally:
        os.environ.pop(MULTIPROC_DIR_ENV, None)
        shutil.rmtree(private, ignore_errors=True)
