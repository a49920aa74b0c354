"""Keeping what a serving process built at startup out of the garbage collector's way.

Imports, routes, schemas and services leave some 140,000 objects the cyclic collector tracks,
and every full collection walks all of them: about 0.1-0.2 s on one core, a stall of every
request in flight. They live as long as the process, so once the app has started they are
moved to the permanent generation (`gc.freeze`), which no collection visits. Only `authsvc
serve` does this: a process that builds many apps (the tests) would keep each one's garbage.
"""

from __future__ import annotations

import gc


def freeze_startup_objects() -> None:
    # Collected first, so what startup already dropped is freed, not kept forever.
    gc.collect()
    gc.freeze()
