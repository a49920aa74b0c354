"""The peers run's tables: medians over rounds, ratios to the bare route of the same round,
and authsvc's figures over its peer's of the same round."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass

from bench.peers.duel import PAIRS, PeerMeasurement, PeersRun
from bench.report import _table


@dataclass(frozen=True, slots=True)
class PeerSummary:
    pair: str
    side: str
    server: str
    route: str
    rate: float
    ratio: float  # to the bare route of the same round, median over rounds
    p50_ms: float
    p99_ms: float
    cpu_ms_per_request: float
    requests: int
    errors: int
    counters: dict[str, int]


@dataclass(frozen=True, slots=True)
class PairRatio:
    """authsvc's figure over its peer's, each round's, median over rounds."""

    pair: str
    peer: str
    rate: float
    p50: float
    p99: float
    cpu_per_request: float


def _median(values: Iterable[float]) -> float:
    found = list(values)
    return statistics.median(found) if found else 0.0


def _share(top: float, bottom: float) -> float:
    return top / bottom if bottom > 0 else 0.0


def _of(run: PeersRun, pair: str, side: str) -> list[PeerMeasurement]:
    return [m for m in run.measurements if m.pair == pair and m.side == side]


def summarize(run: PeersRun) -> list[PeerSummary]:
    summaries = []
    for pair in PAIRS:
        for side in ("authsvc", "peer"):
            ms = _of(run, pair.name, side)
            if not ms:
                continue
            counters = sorted({name for m in ms for name in m.counters})
            summaries.append(
                PeerSummary(
                    pair=pair.name,
                    side=side,
                    server=ms[0].server,
                    route=ms[0].route,
                    rate=_median(m.rate for m in ms),
                    ratio=_median(_share(m.rate, m.bare_rate) for m in ms),
                    p50_ms=_median(m.p50_ms for m in ms),
                    p99_ms=_median(m.p99_ms for m in ms),
                    cpu_ms_per_request=_median(m.cpu_ms_per_request for m in ms),
                    requests=sum(m.requests for m in ms),
                    errors=sum(m.errors for m in ms),
                    counters={n: sum(m.counters.get(n, 0) for m in ms) for n in counters},
                )
            )
    return summaries


Figure = Callable[[PeerMeasurement], float]


def _ratio(
    mine: dict[int, PeerMeasurement], theirs: dict[int, PeerMeasurement], figure: Figure
) -> float:
    rounds = sorted(mine.keys() & theirs.keys())
    return _median(_share(figure(mine[r]), figure(theirs[r])) for r in rounds)


def ratios(run: PeersRun) -> list[PairRatio]:
    out = []
    for pair in PAIRS:
        mine = {m.round: m for m in _of(run, pair.name, "authsvc")}
        theirs = {m.round: m for m in _of(run, pair.name, "peer")}
        if not mine.keys() & theirs.keys():
            continue
        out.append(
            PairRatio(
                pair=pair.name,
                peer=pair.peer.server,
                rate=_ratio(mine, theirs, lambda m: m.rate),
                p50=_ratio(mine, theirs, lambda m: m.p50_ms),
                p99=_ratio(mine, theirs, lambda m: m.p99_ms),
                cpu_per_request=_ratio(mine, theirs, lambda m: m.cpu_ms_per_request),
            )
        )
    return out


def tables(run: PeersRun) -> str:
    load = run.load
    bare = run.bare
    out = [
        f"{run.rounds} round(s) of {load.seconds:g} s per run, {load.connections} connections, "
        f"{load.describe()} (authsvc's refresh: a thread per connection); medians over "
        "rounds; x bare = ratio to the bare FastAPI route (no access log) in the same round. "
        "Every server is one process with no access log; authsvc on SQLite without Redis.",
        "",
        "### authsvc and its peers",
        "",
    ]
    rows = [
        [
            "ceiling",
            "bare FastAPI",
            "GET /",
            f"{_median(b['rate'] for b in bare):,.0f}",
            "1.00",
            f"{_median(b['p50_ms'] for b in bare):.1f}",
            f"{_median(b['p99_ms'] for b in bare):.1f}",
            f"{_median(b.get('cpu_ms_per_request', 0.0) for b in bare):.2f}",
            str(int(sum(b["errors"] for b in bare))),
        ]
    ]
    rows += [
        [
            s.pair,
            s.server,
            s.route,
            f"{s.rate:,.0f}",
            f"{s.ratio:.2f}",
            f"{s.p50_ms:.1f}",
            f"{s.p99_ms:.1f}",
            f"{s.cpu_ms_per_request:.2f}",
            str(s.errors),
        ]
        for s in summarize(run)
    ]
    header = ["comparison", "server", "route", "req/s", "x bare", "p50 ms", "p99 ms"]
    out += _table([*header, "CPU ms/req", "errors"], rows)
    out += ["", "### authsvc / peer (same round; above 1 means authsvc's figure is larger)", ""]
    out += _table(
        ["comparison", "peer", "req/s", "p50", "p99", "CPU ms/req"],
        [
            [r.pair, r.peer, f"{r.rate:.2f}", f"{r.p50:.2f}", f"{r.p99:.2f}",
             f"{r.cpu_per_request:.2f}"]
            for r in ratios(run)
        ],
    )  # fmt: skip
    return "\n".join(out) + "\n"


def dump(run: PeersRun) -> dict[str, object]:
    """Every figure of the run, for --out's JSON."""
    return {
        "bare": run.bare,
        "summaries": [asdict(s) for s in summarize(run)],
        "ratios": [asdict(r) for r in ratios(run)],
        "measurements": [m.as_dict() for m in run.measurements],
    }
