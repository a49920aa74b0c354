"""Issue 15's verdicts from synthetic runs: a figure that misses its target says MISSED, one
that meets it says met, and a target the run did not measure says so instead of passing."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from bench.records import SETTLE_SECONDS, Run
from bench.targets import MET, MISSED, NOT_MEASURED, REPORTED, SEE_TESTS, Verdict

from bench import targets
from tests.bench.synthetic import EXPRESS_RATE, LARGE, RSS_SIZE, changed, good_run


def _status(verdicts: list[Verdict], *words: str) -> str:
    (found,) = [v for v in verdicts if all(word in v.target for word in words)]
    return found.status


def test_a_run_meeting_every_target_is_judged_met_throughout() -> None:
    verdicts = targets.check(good_run())

    assert {v.status for v in verdicts} == {MET, SEE_TESTS, REPORTED}
    assert _status(verdicts, "revocation") == SEE_TESTS
    assert _status(verdicts, "startup RSS") == REPORTED
    # verify x3 and me per store, revocation, refresh x4, login x2 per store, RSS x2, growth
    # 3 scenarios x 2 stores, memory growth per store.
    assert len(verdicts) == 2 * 4 + 1 + 4 + 2 * 2 + 2 + 3 * 2 + 2


@pytest.mark.parametrize(
    ("scenario", "config", "figures", "words"),
    [
        ("verify", "sqlite/1w", {"rate": 850.0}, ("verify` sqlite/1w", "0.9 x")),
        (
            "verify",
            "postgresql/1w",
            {"cpu_ms_per_request": 0.3},
            ("verify` postgresql/1w", "CPU per"),
        ),
        ("verify", "sqlite/1w", {"p99_ms": 31.0}, ("verify` sqlite/1w", "p99")),
        ("me", "postgresql/1w", {"rate": 650.0}, ("/auth/me` postgresql/1w",)),
        ("refresh", "sqlite/1w", {"rate": 240.0}, ("refresh` sqlite/1w", "0.25 x")),
        ("refresh", "postgresql/1w", {"rate": 190.0}, ("refresh` postgresql/1w", "0.2 x")),
        ("login", "sqlite/1w", {"rate": 70.0}, ("login sqlite/1w", "argon2")),
        ("login", "postgresql/1w", {"loop_ms_per_request": 1.2}, ("login postgresql/1w", "1 ms")),
    ],
)
def test_a_figure_that_misses_its_target_is_missed(
    scenario: str, config: str, figures: dict[str, float], words: tuple[str, ...]
) -> None:
    verdicts = targets.check(changed(good_run(), scenario, config, figures))

    assert _status(verdicts, *words) == MISSED
    assert [v.status for v in verdicts].count(MISSED) == 1


def test_refresh_must_be_twice_the_express_tutorials_in_the_same_rounds() -> None:
    run = good_run()
    assert _status(targets.check(run), "Express") == MET
    run.express = [{**e, "rate": EXPRESS_RATE * 2} for e in run.express]

    (verdict,) = [v for v in targets.check(run) if "Express" in v.target]
    assert verdict.status == MISSED
    assert verdict.measured.startswith("1.50 x")


def test_without_the_express_tutorial_its_target_is_not_measured() -> None:
    run = good_run()
    run.express = []
    assert _status(targets.check(run), "Express") == NOT_MEASURED


def test_a_grace_replay_is_not_a_rotation() -> None:
    run = changed(good_run(), "refresh", "sqlite/1w", {"counters": {"rotated": 899, "grace": 1}})
    assert _status(targets.check(run), "refresh` sqlite/1w", "0.25 x") == MISSED


def test_postgresql_refresh_must_scale_to_two_workers() -> None:
    run = changed(good_run(), "refresh", "postgresql/2w", {"rate": 480.0})  # 1.6 x 300
    assert _status(targets.check(run), "2 workers") == MISSED


def test_the_scaling_verdict_says_how_busy_the_machine_was_with_two_workers() -> None:
    run = changed(good_run(), "refresh", "postgresql/2w", {"extra": {"machine_busy": 0.97}})
    (verdict,) = [v for v in targets.check(run) if "2 workers" in v.target]
    assert verdict.measured == "1.80 x; the machine 97 % busy with 2 workers"


def _memory_verdict(run: Run, config: str, figures: dict[str, Any]) -> Verdict:
    run.memory = [
        replace(m, **figures) if (m.size, m.config) == (RSS_SIZE, config) else m for m in run.memory
    ]
    (verdict,) = [v for v in targets.check(run) if "after the 100,000" in v.target]
    return verdict


def test_memory_after_the_100k_run_is_judged_per_worker_once_settled() -> None:
    verdict = _memory_verdict(good_run(), "sqlite/2w", {"settled_rss_mb": [80.0, 101.0]})
    assert verdict.status == MISSED
    assert verdict.measured == (
        f"largest 101 MiB (sqlite/2w), {SETTLE_SECONDS:.0f} s after the runs; "
        "right after them up to 90 MiB"
    )


def test_memory_right_after_the_runs_is_shown_but_not_judged() -> None:
    figures = {"after_rss_mb": [130.0], "settled_rss_mb": [99.0]}
    verdict = _memory_verdict(good_run(), "postgresql/1w", figures)
    assert verdict.status == MET
    assert verdict.measured == (
        f"largest 99 MiB (postgresql/1w), {SETTLE_SECONDS:.0f} s after the runs; "
        "right after them up to 130 MiB"
    )


@pytest.mark.parametrize(
    ("figures", "met"),
    [
        ({"cpu_ms_per_request": 0.26}, True),  # +8 %
        ({"cpu_ms_per_request": 0.27}, False),  # +12.5 %
        ({"rate": 860.0}, True),  # x ceiling -9.5 %
        ({"rate": 850.0}, False),  # -10.5 %
    ],
)
def test_growth_compares_the_smallest_and_the_largest_size(
    figures: dict[str, float], met: bool
) -> None:
    run = changed(good_run(), "verify", "sqlite/1w", figures, size=LARGE)
    verdict = _status(targets.check(run), "verify sqlite/1w from 1,000 to 1,000,000")
    assert verdict == (MET if met else MISSED)


@pytest.mark.parametrize(("settled", "met"), [(87.0, True), (89.0, False)])
def test_memory_growth_compares_the_settled_rss_at_both_ends(settled: float, met: bool) -> None:
    run = good_run()  # 80 MiB settled at every size
    run.memory = [
        replace(m, settled_rss_mb=[settled]) if (m.config, m.size) == ("sqlite/1w", LARGE) else m
        for m in run.memory
    ]
    (verdict,) = [v for v in targets.check(run) if v.target.startswith("memory sqlite/1w")]
    assert verdict.status == (MET if met else MISSED)
    assert verdict.measured == f"80 → {settled:.0f} MiB ({settled / 80 - 1:+.0%})"


def test_the_table_prints_each_verdict_with_its_figure() -> None:
    run = changed(good_run(), "verify", "sqlite/1w", {"rate": 850.0})
    text = targets.table(targets.check(run))

    assert "| `/auth/verify` sqlite/1w: ≥ 0.9 x the bare route | 0.85 x (850 req/s) | MISSED |" in (
        text
    )
    assert "| see tests |" in text


def test_no_login_answered_has_no_cpu_per_login() -> None:
    run = changed(good_run(), "login", "sqlite/1w", {"rate": 0.0, "requests": 0})
    verdicts = targets.check(run)

    assert _status(verdicts, "login sqlite/1w", "argon2") == MISSED
    assert _status(verdicts, "login sqlite/1w", "1 ms") == NOT_MEASURED
    assert _status(verdicts, "login sqlite/1w from") == NOT_MEASURED


def test_the_p99_verdict_quotes_the_bare_routes_own_tail_and_is_judged_on_authsvcs() -> None:
    run = changed(good_run(), "verify", "sqlite/1w", {"p99_ms": 31.0})
    # The bare route's tail in the same rounds is as long: still MISSED, with it beside.
    run.ceilings = [{**c, "p99_ms": c["p50_ms"] * 8.0} for c in run.ceilings]

    (verdict,) = [
        v for v in targets.check(run) if "verify` sqlite/1w" in v.target and "p99" in v.target
    ]
    assert verdict.status == MISSED
    assert verdict.measured.endswith("; the bare route 8.0 x in the same rounds")
