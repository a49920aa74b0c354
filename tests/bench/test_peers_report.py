"""The peers run's arithmetic: medians over rounds, and ratios taken within each round."""

from __future__ import annotations

import pytest
from bench.peers.duel import PeerMeasurement, PeersRun
from bench.peers.report import ratios, summarize, tables
from bench.scenarios import Load


def _measured(side: str, round_: int, rate: float, bare: float, p99: float) -> PeerMeasurement:
    return PeerMeasurement(
        pair="token check",
        side=side,
        server="authsvc" if side == "authsvc" else "AuthX",
        route="GET /auth/verify" if side == "authsvc" else "GET /protected",
        round=round_,
        rate=rate,
        bare_rate=bare,
        p50_ms=p99 / 2,
        p99_ms=p99,
        requests=int(rate * 3),
        errors=0,
        cpu_ms_per_request=1000 / rate,
    )


def _run() -> PeersRun:
    # Per round, authsvc over AuthX is 1.0, 0.5 and 2.0 (median 1.0) although the medians of
    # the rates alone (200 and 150) would say 1.33; against the bare route authsvc is 0.1,
    # 0.5 and 0.3 (median 0.3) although 200 over the median bare rate (1,000) is 0.2.
    bare = [1_000.0, 400.0, 1_000.0]
    mine = [100.0, 200.0, 300.0]
    theirs = [100.0, 400.0, 150.0]
    run = PeersRun(Load(3.0, 50, 2, 16), rounds=3)
    for round_ in range(3):
        run.bare.append({"round": round_, "rate": bare[round_], "p50_ms": 1.0, "p99_ms": 2.0,
                         "errors": 0})  # fmt: skip
        run.measurements.append(_measured("authsvc", round_, mine[round_], bare[round_], 10.0))
        run.measurements.append(_measured("peer", round_, theirs[round_], bare[round_], 20.0))
    return run


def test_ratios_are_medians_of_each_rounds_ratio() -> None:
    (ratio,) = ratios(_run())
    assert ratio.pair == "token check"
    assert ratio.peer == "AuthX"
    assert ratio.rate == pytest.approx(1.0)
    assert ratio.p99 == pytest.approx(0.5)
    assert ratio.cpu_per_request == pytest.approx(1.0)


def test_summaries_give_each_side_its_median_and_ratio_to_the_bare_route() -> None:
    by_side = {s.side: s for s in summarize(_run())}
    assert by_side["authsvc"].rate == pytest.approx(200.0)
    assert by_side["authsvc"].ratio == pytest.approx(0.3)
    assert by_side["peer"].rate == pytest.approx(150.0)
    assert by_side["peer"].requests == 1_950


def test_a_pair_measured_on_one_side_only_has_no_ratio() -> None:
    run = _run()
    run.measurements = [m for m in run.measurements if m.side == "authsvc"]
    assert ratios(run) == []
    assert [s.side for s in summarize(run)] == ["authsvc"]


def _rows(text: str) -> list[list[str]]:
    return [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in text.splitlines()
        if line.startswith("|") and not line.startswith("|-")
    ]


def test_tables_show_the_bare_route_each_side_and_the_ratio() -> None:
    header, bare, mine, theirs, ratio_header, ratio = _rows(tables(_run()))
    assert header[:5] == ["comparison", "server", "route", "req/s", "x bare"]
    assert bare[:5] == ["ceiling", "bare FastAPI", "GET /", "1,000", "1.00"]
    assert mine[:7] == ["token check", "authsvc", "GET /auth/verify", "200", "0.30", "5.0", "10.0"]
    assert theirs[:7] == ["token check", "AuthX", "GET /protected", "150", "0.15", "10.0", "20.0"]
    assert ratio_header == ["comparison", "peer", "req/s", "p50", "p99", "CPU ms/req"]
    assert ratio == ["token check", "AuthX", "1.00", "0.50", "0.50", "1.00"]
