"""Liveness and readiness probes for orchestrators."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter

from authsvc.api.schemas import StatusOut
from authsvc.deps import StoreDep
from authsvc.errors import StoreUnavailable

READY_TIMEOUT_SECONDS = 2.0

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> StatusOut:
    """The process is up and serving."""
    return StatusOut(status="ok")


@router.get("/readyz", responses={503: {"description": "The store is unreachable"}})
async def readyz(store: StoreDep) -> StatusOut:
    """The process can reach its store, so it can take traffic."""
    try:
        await asyncio.wait_for(store.ping(), READY_TIMEOUT_SECONDS)
    except TimeoutError as exc:
        raise StoreUnavailable("store did not answer in time") from exc
    return StatusOut(status="ready")
