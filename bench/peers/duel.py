"""The peers run: rounds in which the bare route, then each authsvc route and its peer's take
turns under the same load, the pair's order swapping from round to round.

Every figure is kept with the bare route's rate of its own round, so the report can give each
as a ratio to that, and authsvc's to its peer's of the same round.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from urllib.parse import urlencode

from bench import scenarios
from bench.peers import express
from bench.peers.lineup import PEER_EMAIL, Lineup
from bench.runner import say
from bench.scenarios import Load, Outcome
from bench.seed import PASSWORD
from bench.servers import ServerProcess

WARM_UP_SECONDS = 1.0
FORM = "application/x-www-form-urlencoded"

Measure = Callable[[Lineup, Load], Outcome]


@dataclass(frozen=True, slots=True)
class Side:
    server: str
    route: str
    measure: Measure


@dataclass(frozen=True, slots=True)
class Pair:
    name: str
    authsvc: Side
    peer: Side


@dataclass
class PeerMeasurement:
    pair: str
    side: str  # "authsvc" or "peer"
    server: str
    route: str
    round: int
    rate: float
    bare_rate: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    cpu_ms_per_request: float
    counters: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass
class PeersRun:
    load: Load
    rounds: int
    measurements: list[PeerMeasurement] = field(default_factory=list)
    bare: list[dict[str, float]] = field(default_factory=list)  # round, rate, p50_ms, p99_ms


def _peer(server: ServerProcess, load: Load, script: str, env: dict[str, str]) -> Outcome:
    """One wrk run of `script` against a peer, and the peer's CPU time meanwhile."""
    return scenarios.load_server(server, load.job(script, server.base_url, env))


def authx_protected(lineup: Lineup, load: Load) -> Outcome:
    env = {"BENCH_PATH": "/protected", "BENCH_TOKENS": str(lineup.authx_tokens)}
    return _peer(lineup.authx, load, "get.lua", env)


def fastapi_users_me(lineup: Lineup, load: Load) -> Outcome:
    env = {"BENCH_PATH": "/users/me", "BENCH_TOKENS": str(lineup.fastapi_users_tokens)}
    return _peer(lineup.fastapi_users, load, "get.lua", env)


def fastapi_users_login(lineup: Lineup, load: Load) -> Outcome:
    body = urlencode({"username": PEER_EMAIL, "password": PASSWORD})
    env = {"BENCH_PATH": "/auth/jwt/login", "BENCH_CONTENT_TYPE": FORM, "BENCH_BODY": body}
    return _peer(lineup.fastapi_users, load, "post.lua", env)


def express_refresh(lineup: Lineup, load: Load) -> Outcome:
    return express.refresh(lineup.express, load)


def _authsvc(scenario: scenarios.Scenario) -> Measure:
    return lambda lineup, load: scenario(lineup.authsvc, load)


# (comparison, authsvc's route and scenario, the peer, its route and load)
_TABLE: tuple[tuple[str, str, scenarios.Scenario, str, str, Measure], ...] = (
    ("token check", "GET /auth/verify", scenarios.verify,
     "AuthX", "GET /protected", authx_protected),
    ("current user", "GET /auth/me", scenarios.me,
     "fastapi-users", "GET /users/me", fastapi_users_me),
    ("login", "POST /auth/login", scenarios.login,
     "fastapi-users", "POST /auth/jwt/login", fastapi_users_login),
    ("refresh", "POST /auth/refresh (rotation)", scenarios.refresh,
     "Express tutorial", "POST /refresh (no rotation)", express_refresh),
)  # fmt: skip
PAIRS = tuple(
    Pair(name, Side("authsvc", route, _authsvc(scenario)), Side(peer, peer_route, measure))
    for name, route, scenario, peer, peer_route, measure in _TABLE
)


def warm_up(lineup: Lineup, load: Load) -> None:
    """A short run of every route but the logins, so no first measurement pays for start-up."""
    short = load.lasting(WARM_UP_SECONDS)
    scenarios.ceiling(lineup.bare, short)
    for pair in PAIRS:
        if pair.name != "login":  # argon2 needs no warming, and would take the longest
            pair.authsvc.measure(lineup, short)
            pair.peer.measure(lineup, short)


def run_round(lineup: Lineup, load: Load, round_: int, outcome: PeersRun) -> None:
    measured = scenarios.ceiling(lineup.bare, load)
    bare = measured.result
    outcome.bare.append(
        {"round": round_, "rate": bare.rate, "p50_ms": bare.p50_ms, "p99_ms": bare.p99_ms,
         "errors": bare.errors,
         "cpu_ms_per_request": measured.cpu_ms_per_request}
    )  # fmt: skip
    say(f"[peers r{round_}] bare route: {bare.rate:,.0f} req/s")
    for pair in PAIRS:
        sides = [("authsvc", pair.authsvc), ("peer", pair.peer)]
        for role, side in sides if round_ % 2 == 0 else sides[::-1]:
            measured = side.measure(lineup, load)
            result = measured.result
            outcome.measurements.append(
                PeerMeasurement(
                    pair=pair.name,
                    side=role,
                    server=side.server,
                    route=side.route,
                    round=round_,
                    rate=result.rate,
                    bare_rate=bare.rate,
                    p50_ms=result.p50_ms,
                    p99_ms=result.p99_ms,
                    requests=result.requests,
                    errors=measured.errors,
                    cpu_ms_per_request=measured.cpu_ms_per_request,
                    counters=result.counters,
                )
            )
            say(
                f"[peers r{round_}] {pair.name:<12} {side.server:<16} {result.rate:>9,.0f} req/s"
                f"  p99 {result.p99_ms:7.1f} ms  errors {measured.errors}"
            )


def run(lineup: Lineup, load: Load, rounds: int) -> PeersRun:
    outcome = PeersRun(load, rounds)
    warm_up(lineup, load)
    for round_ in range(rounds):
        run_round(lineup, load, round_, outcome)
    return outcome
