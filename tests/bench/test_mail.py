"""`python -m bench --mail` in smoke mode: every queued mail reaches the sink exactly once.

Completion and correctness only, never a speed: the figures are asserted to exist, not to be
fast.
"""

from __future__ import annotations

import smtplib
from dataclasses import replace
from email.message import EmailMessage
from pathlib import Path

from bench.mail_drain import MailResult
from bench.mail_report import SMOKE_MAILS, failures
from bench.mail_sink import running_sink

from tests.bench.runs import run_bench_dump
from tests.support.stores import STORES

TIMEOUT_SECONDS = 300


def test_mail_smoke_delivers_every_mail_exactly_once(tmp_path: Path) -> None:
    out = tmp_path / "mail"
    stdout, dump = run_bench_dump(
        "--mail", "--smoke", "--stores", ",".join(STORES), out=out, timeout=TIMEOUT_SECONDS
    )
    assert "## authsvc outbox drain benchmark" in stdout
    results = dump["mail"]
    assert [r["store"] for r in results] == STORES
    for r in results:
        where = r["store"]
        assert r["mails"] == SMOKE_MAILS, where
        assert r["delivered"] == r["distinct"] == SMOKE_MAILS, where
        assert r["duplicates"] == 0, where
        assert r["left_in_outbox"] is False, where
        assert r["errors"] == 0, where
        assert r["mails_per_second"] > 0, where
        assert r["enqueue_seconds"] > 0 and r["drain_seconds"] > 0, where
        assert r["verify_runs_during"] >= 1, where
        for phase in ("before", "during"):
            assert r[f"verify_rate_{phase}"] > 0, (where, phase)
            assert 0 < r[f"verify_p50_{phase}_ms"] <= r[f"verify_p99_{phase}_ms"], (where, phase)
        assert r["p99_ratio"] > 0, where


def _send(port: int, recipient: str) -> None:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "a@example.org", recipient, "x"
    message.set_content("x")
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.send_message(message)


def test_the_sink_tells_a_repeated_mail_from_a_lost_one() -> None:
    with running_sink() as (sink, port):
        for recipient in ("one@example.org", "two@example.org", "one@example.org"):
            _send(port, recipient)
        counts = sink.counts()

    assert sink.delivered == 3
    assert counts == {"one@example.org": 2, "two@example.org": 1}
    assert sink.first_at is not None and sink.last_at is not None
    assert sink.first_at <= sink.last_at


def test_a_lost_or_repeated_mail_fails_the_run() -> None:
    clean = MailResult(
        store="sqlite", mails=3, enqueue_seconds=0.1, first_mail_seconds=0.1,
        drain_seconds=0.2, mails_per_second=10.0, delivered=3, distinct=3, duplicates=0,
        left_in_outbox=False, verify_rate_before=1.0, verify_p50_before_ms=1.0,
        verify_p99_before_ms=2.0, verify_rate_during=1.0, verify_p50_during_ms=1.0,
        verify_p99_during_ms=2.0, verify_runs_during=1, errors=0,
    )  # fmt: skip
    lost = replace(clean, distinct=2, delivered=2)
    repeated = replace(clean, delivered=4, duplicates=1)
    stuck = replace(clean, left_in_outbox=True)

    assert failures([clean]) == []
    assert failures([clean, lost, repeated, stuck]) == [lost, repeated, stuck]
