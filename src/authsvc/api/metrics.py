"""Prometheus metrics in the text exposition format, for the scraper on the internal network."""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST

from authsvc.deps import ClockDep, MetricsDep, StoreDep
from authsvc.errors import StoreUnavailable

METRICS_PATH = "/metrics"
# Well inside a scraper's usual 10 s timeout; without the store only the gauge is missing.
COUNT_TIMEOUT_SECONDS = 2.0

log = logging.getLogger("authsvc.metrics")

router = APIRouter(tags=["metrics"])


@router.get(
    METRICS_PATH,
    response_class=Response,
    responses={200: {"description": "Prometheus text format", "content": {"text/plain": {}}}},
)
async def metrics(collectors: MetricsDep, store: StoreDep, clock: ClockDep) -> Response:
    """Request, login, refresh, throttling, revocation and mail counters; the active-sessions
    and oldest-pending-mail gauges."""
    now = clock()
    try:
        active: int | None = await asyncio.wait_for(
            store.count_active_sessions(now=now), COUNT_TIMEOUT_SECONDS
        )
        oldest = await asyncio.wait_for(store.oldest_pending_mail(), COUNT_TIMEOUT_SECONDS)
    except (StoreUnavailable, TimeoutError):
        log.warning("store unavailable: the store's gauges are left out of this scrape")
        active, oldest_age = None, None
    else:
        oldest_age = max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
    body = collectors.render(sessions_active=active, oldest_mail_age=oldest_age)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
