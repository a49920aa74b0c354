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
    """Request, login, refresh, throttling and revocation counters; the active-sessions gauge."""
    try:
        active: int | None = await asyncio.wait_for(
            store.count_active_sessions(now=clock()), COUNT_TIMEOUT_SECONDS
        )
    except (StoreUnavailable, TimeoutError):
        log.warning("store unavailable: authsvc_sessions_active left out of this scrape")
        active = None
    return Response(collectors.render(sessions_active=active), media_type=CONTENT_TYPE_LATEST)
