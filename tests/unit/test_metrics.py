"""The collectors: names, types, fixed label sets, and the multiprocess sum."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from authsvc.events import EventKind, SecurityEvent
from authsvc.metrics import REVOKE_REASONS, Metrics
from authsvc.observers.metrics import MetricsRecorder
from tests.support.scrape import Scrape

# name in the exposition -> (type, label names)
FAMILIES = {
    "authsvc_http_requests_total": ("counter", {"method", "route", "status"}),
    "authsvc_http_request_duration_seconds": ("histogram", {"route", "status"}),
    "authsvc_logins_total": ("counter", {"result"}),
    "authsvc_refreshes_total": ("counter", set()),
    "authsvc_refresh_grace_replays_total": ("counter", set()),
    "authsvc_refresh_reuse_detected_total": ("counter", set()),
    "authsvc_throttled_requests_total": ("counter", {"flow"}),
    "authsvc_sessions_revoked_total": ("counter", {"reason"}),
    "authsvc_security_events_total": ("counter", {"event"}),
    "authsvc_audit_write_failures_total": ("counter", set()),
    "authsvc_mails_queued_total": ("counter", {"kind"}),
    "authsvc_mails_sent_total": ("counter", {"kind"}),
    "authsvc_mails_failed_total": ("counter", {"kind"}),
    "authsvc_sessions_active": ("gauge", set()),
}


def render(metrics: Metrics, sessions_active: int | None = 0) -> Scrape:
    return Scrape.parse(metrics.render(sessions_active=sessions_active).decode())


def test_every_family_has_its_documented_type_and_labels() -> None:
    metrics = Metrics()
    metrics.observe_request("GET", "/healthz", 200, 0.001)
    scrape = render(metrics)

    for name, (kind, labels) in FAMILIES.items():
        family = name.removesuffix("_total")
        assert scrape.types[family] == kind, name
        sample = f"{name}_count" if kind == "histogram" else name
        assert scrape.label_names(sample) == labels, name
    assert set(scrape.types) == {name.removesuffix("_total") for name in FAMILIES}
    assert not any(name.endswith("_created") for name, _ in scrape.values)


def test_known_series_start_at_zero() -> None:
    scrape = render(Metrics())
    assert scrape.values[("authsvc_logins_total", frozenset({("result", "failed")}))] == 0
    for reason in REVOKE_REASONS:
        key = ("authsvc_sessions_revoked_total", frozenset({("reason", reason)}))
        assert scrape.values[key] == 0


@pytest.mark.parametrize(
    ("method", "status", "labels"),
    [
        ("GET", 200, ("GET", "2xx")),
        ("DELETE", 204, ("DELETE", "2xx")),
        ("POST", 302, ("POST", "3xx")),
        ("POST", 429, ("POST", "4xx")),
        ("GET", 503, ("GET", "5xx")),
        ("PROPFIND", 200, ("other", "2xx")),
        ("x" * 200, 401, ("other", "4xx")),
    ],
)
def test_request_labels_come_from_small_fixed_sets(
    method: str, status: int, labels: tuple[str, str]
) -> None:
    metrics = Metrics()
    metrics.observe_request(method, "/auth/verify", status, 0.004)
    metrics.observe_request(method, "/auth/verify", status, 0.2)
    scrape = render(metrics)

    method_label, status_class = labels
    assert (
        scrape.value(
            "authsvc_http_requests_total",
            method=method_label,
            route="/auth/verify",
            status=status_class,
        )
        == 2
    )
    series = {"route": "/auth/verify", "status": status_class}
    assert scrape.value("authsvc_http_request_duration_seconds_count", **series) == 2
    assert scrape.value("authsvc_http_request_duration_seconds_bucket", le="0.005", **series) == 1
    assert scrape.value("authsvc_http_request_duration_seconds_sum", **series) == pytest.approx(
        0.204
    )


def test_unknown_reasons_and_flows_fold_into_other() -> None:
    metrics = Metrics()
    metrics.sessions_revoked("admin_purge", 3)
    metrics.sessions_revoked("logout", 0)  # nothing revoked, nothing counted
    metrics.throttled("carrier pigeon")
    scrape = render(metrics)

    assert scrape.value("authsvc_sessions_revoked_total", reason="other") == 3
    assert scrape.value("authsvc_sessions_revoked_total", reason="logout") == 0
    assert scrape.value("authsvc_throttled_requests_total", flow="other") == 1
    assert "admin_purge" not in set(scrape.label_values())


async def test_events_move_their_counters() -> None:
    metrics = Metrics()
    recorder = MetricsRecorder(metrics)
    for kind in (
        EventKind.LOGIN_SUCCEEDED,
        EventKind.LOGIN_FAILED,
        EventKind.LOGIN_FAILED,
        EventKind.REFRESH_ROTATED,
        EventKind.REFRESH_GRACE_REPLAYED,
        EventKind.REFRESH_REUSE_DETECTED,
        EventKind.PASSWORD_CHANGE_THROTTLED,
    ):
        await recorder.record(SecurityEvent(kind))
    scrape = render(metrics)

    assert scrape.value("authsvc_logins_total", result="succeeded") == 1
    assert scrape.value("authsvc_logins_total", result="failed") == 2
    assert scrape.value("authsvc_refreshes_total") == 1
    assert scrape.value("authsvc_refresh_grace_replays_total") == 1
    assert scrape.value("authsvc_refresh_reuse_detected_total") == 1
    assert scrape.value("authsvc_throttled_requests_total", flow="password_change") == 1


def test_each_app_has_collectors_of_its_own() -> None:
    first, second = Metrics(), Metrics()
    first.login_succeeded()
    assert render(first).value("authsvc_logins_total", result="succeeded") == 1
    assert render(second).value("authsvc_logins_total", result="succeeded") == 0


def test_the_gauge_is_left_out_when_the_store_did_not_answer() -> None:
    assert render(Metrics(), sessions_active=7).value("authsvc_sessions_active") == 7
    assert "authsvc_sessions_active" not in render(Metrics(), sessions_active=None).types


# Run in fresh interpreters: prometheus-client picks multiprocess mode when it is imported.
WORKER = """
from authsvc.metrics import Metrics
m = Metrics.from_environment()
m.login_failed()
m.sessions_revoked("logout", 2)
m.observe_request("GET", "/auth/verify", 200, 0.003)
"""
SCRAPER = """
import sys
from authsvc.metrics import Metrics
sys.stdout.write(Metrics.from_environment().render(sessions_active=4).decode())
"""


def test_multiprocess_mode_adds_up_every_process(tmp_path: Path) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for _ in range(3):
        subprocess.run([sys.executable, "-c", WORKER], env=env, check=True, timeout=30)
    result = subprocess.run(
        [sys.executable, "-c", SCRAPER],
        env=env,
        check=True,
        timeout=30,
        capture_output=True,
        text=True,
    )
    scrape = Scrape.parse(result.stdout)

    assert scrape.value("authsvc_logins_total", result="failed") == 3
    assert scrape.value("authsvc_logins_total", result="succeeded") == 0
    assert scrape.value("authsvc_sessions_revoked_total", reason="logout") == 6
    verify = {"method": "GET", "route": "/auth/verify", "status": "2xx"}
    assert scrape.value("authsvc_http_requests_total", **verify) == 3
    assert (
        scrape.value(
            "authsvc_http_request_duration_seconds_count", route="/auth/verify", status="2xx"
        )
        == 3
    )
    # Counted in the store, never summed over processes.
    assert scrape.value("authsvc_sessions_active") == 4


def test_unknown_event_names_fold_into_other() -> None:
    metrics = Metrics()
    metrics.event_recorded("alice@example.com")
    scrape = render(metrics)

    assert scrape.value("authsvc_security_events_total", event="other") == 1
    assert "alice@example.com" not in set(scrape.label_values())
    for kind in EventKind:
        assert scrape.value("authsvc_security_events_total", event=kind.value) == 0


async def test_revocation_events_count_sessions_by_reason() -> None:
    metrics = Metrics()
    recorder = MetricsRecorder(metrics)
    await recorder.record(SecurityEvent(EventKind.SESSION_REVOKED, reason="reuse_detected"))
    await recorder.record(SecurityEvent(EventKind.REFRESH_REUSE_DETECTED))
    await recorder.record(
        SecurityEvent(EventKind.SESSIONS_REVOKED, reason="session_limit", count=3)
    )
    await recorder.record(SecurityEvent(EventKind.REGISTRATION_THROTTLED))
    scrape = render(metrics)

    assert scrape.value("authsvc_sessions_revoked_total", reason="reuse_detected") == 2
    assert scrape.value("authsvc_sessions_revoked_total", reason="session_limit") == 3
    assert scrape.value("authsvc_throttled_requests_total", flow="registration") == 1
    assert scrape.value("authsvc_security_events_total", event="sessions_revoked") == 1
