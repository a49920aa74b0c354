"""Readiness: every dependency this instance is configured with answers, and in time."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping

# A probe answers when its dependency does; it may raise anything when it does not.
Probe = Callable[[], Awaitable[object]]

log = logging.getLogger("authsvc.readiness")


async def unanswered(probes: Mapping[str, Probe], *, within: float) -> list[str]:
    """The names of the probes that failed or took longer than `within` seconds, asked at once."""
    names = list(probes)
    results = await asyncio.gather(
        *(asyncio.wait_for(probes[name](), within) for name in names), return_exceptions=True
    )
    failed = []
    for name, result in zip(names, results, strict=True):
        if isinstance(result, BaseException):
            if isinstance(result, asyncio.CancelledError):
                raise result
            # Only the class: a driver's message may quote its connection URL.
            log.warning("not ready: %s did not answer (%s)", name, type(result).__name__)
            failed.append(name)
    return failed
