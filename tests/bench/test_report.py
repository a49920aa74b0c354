"""The tables of a run: the event-loop, CPU-ratio and memory columns, and the tables beside
the scenarios' (the Express tutorial's /refresh, seeding, each worker's memory)."""

from __future__ import annotations

from bench.records import SETTLE_SECONDS
from bench.report import tables

from bench import side_tables
from tests.bench.synthetic import good_run


def _rows(lines: list[str]) -> list[list[str]]:
    return [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in lines
        if line.startswith("|") and not line.startswith("|-")
    ]


def _section(text: str, title: str) -> list[list[str]]:
    block = text.split(f"### {title}", 1)[1].split("###", 1)[0]
    return _rows(block.splitlines())


def test_every_scenario_has_loop_cpu_ratio_and_rss_columns() -> None:
    header, *rows = _section(tables(good_run()), "GET /auth/verify")
    row = dict(zip(header, rows[0], strict=True))

    assert row["size"] == "1,000" and row["config"] == "postgresql/1w"
    assert row["CPU ms/req"] == "0.24"
    assert row["CPU x ceiling"] == "1.20"
    assert row["loop ms/req"] == "0.24"
    assert row["RSS MiB"] == "90"
    assert row["peak RSS MiB"] == "95"
    # 1w and 2w on both stores at the two smaller sizes, the 1-worker ones only at 1M.
    assert [r[0] for r in rows].count("1,000,000") == 2


def test_the_ceiling_table_has_its_loop_cpu() -> None:
    header, first, *_ = _section(tables(good_run()), "Ceiling")
    assert dict(zip(header, first, strict=True))["loop ms/req"] == "0.20"


def test_memory_lists_each_worker_at_start_right_after_the_runs_and_settled() -> None:
    header, *rows = _rows(side_tables.memory(good_run()))
    assert header[2:5] == [
        "startup RSS MiB",
        "RSS right after the runs MiB",
        f"RSS {SETTLE_SECONDS:.0f} s later MiB",
    ]
    assert ["100,000", "sqlite/2w", "60, 60", "90, 90", "80, 80", "95"] in rows
    assert ["1,000,000", "sqlite/1w", "60", "90", "80", "95"] in rows
    assert ["1,000", "bare route/2w", "50, 50", "120, 120", "110, 110", "130"] in rows


def test_the_express_refresh_is_a_ratio_to_the_same_rounds_ceiling() -> None:
    header, row = _rows(side_tables.express(good_run()))
    assert dict(zip(header, row, strict=True))["x ceiling"] == "0.10"


def test_seeding_gives_each_store_and_size_its_seconds() -> None:
    _, *rows = _rows(side_tables.seeding(good_run()))
    assert ["1,000,000", "postgresql", "50.0"] in rows
    assert len(rows) == 6
