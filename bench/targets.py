"""The targets of the performance work, checked against one run's summaries."""

from __future__ import annotations

from dataclasses import dataclass

from bench.report import Summary, argon2_rate, summarize
from bench.runner import Run


@dataclass(frozen=True, slots=True)
class Verdict:
    target: str
    measured: str
    met: bool


def _find(summaries: list[Summary], scenario: str, config: str, size: int) -> Summary | None:
    for s in summaries:
        if (s.scenario, s.config, s.size) == (scenario, config, size):
            return s
    return None


def check(run: Run) -> list[Verdict]:
    summaries = summarize(run)
    sizes = sorted({s.size for s in summaries})
    if not sizes:
        return []
    small, large = sizes[0], sizes[-1]
    stores = sorted({s.store for s in summaries})
    verdicts: list[Verdict] = []
    for store in stores:
        one = f"{store}/1w"
        s = _find(summaries, "verify", one, small)
        if s is not None:
            verdicts.append(
                Verdict(
                    f"verify {one}: ≥ 0.70 x ceiling, p99 < 15 ms",
                    f"{s.ratio:.2f} x, p99 {s.p99_ms:.1f} ms",
                    s.ratio >= 0.7 and s.p99_ms < 15,
                )
            )
        s = _find(summaries, "login", one, small)
        rate = argon2_rate(run, small)
        if s is not None and rate:
            verdicts.append(
                Verdict(
                    f"login {one}: ≥ 0.80 x argon2-cffi alone",
                    f"{s.rate:,.1f} / {rate:,.1f} = {s.rate / rate:.2f}x",
                    s.rate >= 0.8 * rate,
                )
            )
        s = _find(summaries, "mixed", one, small)
        idle = s.extra.get("idle_p99_ms") if s is not None else None
        if s is not None and idle:
            verdicts.append(
                Verdict(
                    f"verify p99 during login flood {one}: < 3 x idle p99",
                    f"{s.p99_ms:.1f} ms vs idle {idle:.1f} ms = {s.p99_ms / idle:.2f}x",
                    s.p99_ms < 3 * idle,
                )
            )
        if large != small:
            for scenario in ("verify", "refresh"):
                first = _find(summaries, scenario, one, small)
                last = _find(summaries, scenario, one, large)
                if first is not None and last is not None:
                    # Judged on the ratio to the same round's ceiling: the absolute rates of
                    # two sizes are minutes apart on a machine whose load changes meanwhile.
                    change = last.ratio / first.ratio - 1
                    verdicts.append(
                        Verdict(
                            f"{scenario} {one}: x ceiling falls < 10 % from {small:,} to {large:,}",
                            f"{first.ratio:.3f} → {last.ratio:.3f} x ceiling ({change:+.0%}); "
                            f"{first.rate:,.0f} → {last.rate:,.0f} req/s, "
                            f"CPU {first.cpu_ms_per_request:.2f} → "
                            f"{last.cpu_ms_per_request:.2f} ms/req",
                            change > -0.10,
                        )
                    )
    s = _find(summaries, "refresh", "sqlite/1w", small)
    if s is not None:
        rotations = s.counters.get("rotated", 0)
        verdicts.append(
            Verdict(
                "refresh sqlite/1w: ≥ 0.25 x ceiling, 0 errors, p99 < 100 ms, all rotations",
                f"{s.ratio:.2f} x, {s.errors} errors, p99 {s.p99_ms:.1f} ms, "
                f"{rotations:,} rotations of {s.requests:,}",
                s.ratio >= 0.25 and s.errors == 0 and s.p99_ms < 100 and rotations == s.requests,
            )
        )
        pg = _find(summaries, "refresh", "postgresql/2w", small)
        if pg is not None:
            verdicts.append(
                Verdict(
                    "refresh postgresql/2w ≥ sqlite/1w",
                    f"{pg.rate:,.0f} vs {s.rate:,.0f} req/s ({pg.ratio:.2f} vs {s.ratio:.2f} x "
                    "ceiling of their own worker count)",
                    pg.rate >= s.rate,
                )
            )
    at_large = [s for s in summaries if s.size == large]
    if at_large:
        worst = max(at_large, key=lambda s: s.peak_rss_mb)
        verdicts.append(
            Verdict(
                f"RSS of one worker after the {large:,} run < 150 MB",
                f"{worst.peak_rss_mb:.0f} MB peak ({worst.config})",
                worst.peak_rss_mb < 150,
            )
        )
    return verdicts


def table(verdicts: list[Verdict]) -> str:
    lines = ["| target | measured | |", "|---|---|---|"]
    lines += [f"| {v.target} | {v.measured} | {'met' if v.met else 'MISSED'} |" for v in verdicts]
    return "\n".join(lines) + "\n"
