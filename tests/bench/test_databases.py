"""The benchmark's PostgreSQL templates: a copy starts with every seeded row visible to all and
the planner's statistics in place, so no vacuum or first reader's write runs beside the runs."""

from __future__ import annotations

import random
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
from bench.databases import Databases
from bench.seed import load, make_population

from authsvc.clock import utc_now
from tests.requirements import POSTGRESQL, require

SIZE = 300


async def test_a_copy_of_a_seeded_template_needs_no_vacuum(tmp_path: Path) -> None:
    require(POSTGRESQL)
    databases = Databases(tmp_path)
    try:
        template = await databases.create("postgresql", "seed")
        population = make_population(SIZE, random.Random(SIZE))  # noqa: S311
        await load(template, population, hashed="x", now=utc_now())
        copy = await databases.copy("postgresql", template, "copy")
        connection = await asyncpg.connect(copy.replace("postgresql+asyncpg", "postgresql"))
        try:
            for table in ("users", "sessions"):
                pages, visible, tuples = await connection.fetchrow(
                    "SELECT relpages, relallvisible, reltuples FROM pg_class WHERE relname = $1",
                    table,
                )
                assert pages > 0, table
                assert visible == pages, table  # the visibility map set by VACUUM, not ANALYZE
                assert tuples == SIZE, table  # statistics: ANALYZE ran
            rows = await connection.fetchval("SELECT count(*) FROM sessions")
            assert rows == SIZE
        finally:
            await connection.close()
    finally:
        await databases.close()
