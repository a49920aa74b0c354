"""Liveness and readiness probes for orchestrators; both answer HEAD as they answer GET."""

from __future__ import annotations

from fastapi import APIRouter

from authsvc.api.schemas import StatusOut
from authsvc.deps import ReadinessProbesDep, StoreDep
from authsvc.errors import NotReady
from authsvc.readiness import unanswered

READY_TIMEOUT_SECONDS = 2.0
router = APIRouter(tags=["health"])


# Load balancers and uptime checkers often probe with HEAD; the schema lists the GET only.
@router.head("/healthz", include_in_schema=False)
@router.get("/healthz")
async def healthz() -> StatusOut:
    """The process is up and serving."""
    return StatusOut(status="ok")


@router.head("/readyz", include_in_schema=False)
@router.get(
    "/readyz",
    responses={503: {"description": "The store or Redis (when configured) is unreachable"}},
)
async def readyz(store: StoreDep, probes: ReadinessProbesDep) -> StatusOut:
    """Every dependency this instance is configured with answers, so it can take traffic."""
    failed = await unanswered({"store": store.ping, **probes}, within=READY_TIMEOUT_SECONDS)
    if failed:
        raise NotReady(", ".join(failed))
    return StatusOut(status="ready")
