"""Prometheus metrics: the collectors of one app, and their text exposition.

Every label has a fixed, small set of values (route templates, status classes, outcomes), so
no client can add series: usernames, tokens and addresses never become labels.

One process keeps its values in a registry of its own. Several `serve --workers` processes run
prometheus-client's multiprocess mode instead: each writes its values to files in
PROMETHEUS_MULTIPROC_DIR (the library reads that variable when it is imported, so it must be
set before a worker starts), and a scrape of any worker adds up every worker's files, those of
workers that died and were replaced included, so totals never go backwards. The active-sessions
gauge is not a per-process value at all: it is counted in the store at scrape time.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from authsvc.events import EventKind

MULTIPROC_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"

# The route label of requests that matched no route: their paths are the client's choice.
UNMATCHED_ROUTE = "unmatched"
# Methods outside this set (WebDAV, made-up tokens) share one label value.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER = "other"
# Why sessions end, as the services name it; anything new is counted as OTHER until listed.
REVOKE_REASONS = (
    "logout",
    "logout_all",
    "signed_out",
    "password_changed",
    "password_reset",
    "reuse_detected",
    "session_limit",
)
THROTTLED_FLOWS = (
    "login",
    "password_change",
    "registration",
    "email_resend",
    "password_reset",
    "email_change",
    "passkey_login",
)
# The kinds of mail authsvc sends (templates of the same names in authsvc/mail/templates/).
MAIL_KINDS = (
    "verify_email",
    "password_reset",
    "password_changed_notice",
    "email_change_verify",
    "email_changed_notice",
)
LOGIN_RESULTS = ("succeeded", "failed")
EVENT_NAMES = frozenset(kind.value for kind in EventKind)
# From a cached forward-auth check (about a millisecond) to a login's argon2 hash and beyond.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """The collectors of one app; `observers.metrics.MetricsRecorder` moves them on events."""

    def __init__(self, *, multiprocess_dir: str | None = None) -> None:
        # The classic text format turns each `_created` sample into a series of its own, and
        # multiprocess mode has none: one switch for the whole process, the same for any app.
        disable_created_metrics()  # type: ignore[no-untyped-call]
        registry = CollectorRegistry()
        self._requests = Counter(
            "authsvc_http_requests_total",
            "HTTP requests answered, by method, route template and status class.",
            ["method", "route", "status"],
            registry=registry,
        )
        self._latency = Histogram(
            "authsvc_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template and status class.",
            ["route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self._logins = Counter(
            "authsvc_logins_total",
            "Password checks at login, by result (throttled attempts are not checked).",
            ["result"],
            registry=registry,
        )
        self._refreshes = Counter(
            "authsvc_refreshes_total",
            "Refresh tokens rotated: a new access token and a new refresh cookie.",
            registry=registry,
        )
        self._grace_replays = Counter(
            "authsvc_refresh_grace_replays_total",
            "Just-superseded refresh tokens presented inside the grace window (racing tabs).",
            registry=registry,
        )
        self._reuse = Counter(
            "authsvc_refresh_reuse_detected_total",
            "Superseded refresh tokens presented again: each revoked its whole session.",
            registry=registry,
        )
        self._throttled = Counter(
            "authsvc_throttled_requests_total",
            "Requests refused with 429 by throttling, by flow.",
            ["flow"],
            registry=registry,
        )
        self._revoked = Counter(
            "authsvc_sessions_revoked_total",
            "Sessions revoked, by reason.",
            ["reason"],
            registry=registry,
        )
        self._events = Counter(
            "authsvc_security_events_total",
            "Security events, by the event name of their security log line.",
            ["event"],
            registry=registry,
        )
        self._audit_failures = Counter(
            "authsvc_audit_write_failures_total",
            "Security events the audit log could not store (the flows went on).",
            registry=registry,
        )
        self._mails = {
            outcome: Counter(
                f"authsvc_mails_{outcome}_total",
                f"Mails {outcome} (failed: given up after the last attempt or refused for good), "
                "by kind.",
                ["kind"],
                registry=registry,
            )
            for outcome in ("queued", "sent", "failed")
        }
        # Every known series exists from the start, at zero, so rate() sees its first event.
        for counter in self._mails.values():
            for kind in MAIL_KINDS:
                counter.labels(kind)
        for result in LOGIN_RESULTS:
            self._logins.labels(result)
        for flow in THROTTLED_FLOWS:
            self._throttled.labels(flow)
        for reason in (*REVOKE_REASONS, OTHER):
            self._revoked.labels(reason)
        for kind in EventKind:
            self._events.labels(kind.value)

        self._source: Collector = registry
        if multiprocess_dir is not None:
            # The values above live in files; reading them all is what sums the workers.
            merged = CollectorRegistry()
            MultiProcessCollector(merged, path=multiprocess_dir)  # type: ignore[no-untyped-call]
            self._source = merged
        self._request_series: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    @classmethod
    def from_environment(cls) -> Metrics:
        """Multiprocess mode exactly when prometheus-client itself runs in it."""
        return cls(multiprocess_dir=os.environ.get(MULTIPROC_DIR_ENV) or None)

    # HTTP (called by RequestRecordMiddleware for every request)

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        if method not in METHODS:
            method = OTHER
        key = (method, route, status)
        series = self._request_series.get(key)
        if series is None:
            # labels() takes a lock and builds a key; the hot path looks its series up once.
            status_class = f"{status // 100}xx" if 100 <= status <= 599 else OTHER
            series = (
                self._requests.labels(method, route, status_class),
                self._latency.labels(route, status_class),
            )
            self._request_series[key] = series
        series[0].inc()
        series[1].observe(seconds)

    # flow outcomes (called by MetricsRecorder)

    def event_recorded(self, event: str) -> None:
        self._events.labels(event if event in EVENT_NAMES else OTHER).inc()

    def login_succeeded(self) -> None:
        self._logins.labels("succeeded").inc()

    def login_failed(self) -> None:
        self._logins.labels("failed").inc()

    def throttled(self, flow: str) -> None:
        self._throttled.labels(flow if flow in THROTTLED_FLOWS else OTHER).inc()

    def refresh_rotated(self) -> None:
        self._refreshes.inc()

    def refresh_grace_replayed(self) -> None:
        self._grace_replays.inc()

    def refresh_reuse_detected(self) -> None:
        self._reuse.inc()

    def sessions_revoked(self, reason: str, count: int) -> None:
        if count > 0:
            self._revoked.labels(reason if reason in REVOKE_REASONS else OTHER).inc(count)

    # mail (called by the mailer and the outbox sender)

    def mail_queued(self, kind: str) -> None:
        self._mail("queued", kind)

    def mail_sent(self, kind: str) -> None:
        self._mail("sent", kind)

    def mail_failed(self, kind: str) -> None:
        self._mail("failed", kind)

    def _mail(self, outcome: str, kind: str) -> None:
        self._mails[outcome].labels(kind if kind in MAIL_KINDS else OTHER).inc()

    # exposition

    def audit_write_failed(self) -> None:
        self._audit_failures.inc()

    def render(self, *, sessions_active: int | None, oldest_mail_age: float | None = None) -> bytes:
        """The text exposition; `sessions_active` None leaves the gauge out (store down);
        `oldest_mail_age` is the age in seconds of the oldest mail waiting, 0 for none."""
        extra: list[Metric] = []
        if oldest_mail_age is not None:
            extra.append(
                GaugeMetricFamily(
                    "authsvc_mail_oldest_pending_age_seconds",
                    "Age of the oldest mail waiting in the outbox, read from the store at scrape "
                    "time (0 when none waits; the same on every replica: aggregate with max).",
                    value=oldest_mail_age,
                )
            )
        if sessions_active is not None:
            extra.append(
                GaugeMetricFamily(
                    "authsvc_sessions_active",
                    "Sessions neither revoked nor expired, counted in the store at scrape time "
                    "(the same number on every replica: aggregate with max, not sum).",
                    value=sessions_active,
                )
            )
        return generate_latest(_Scrape(self._source, extra))


class _Scrape:
    """The app's collectors plus values computed for this one scrape."""

    def __init__(self, source: Collector, extra: Iterable[Metric]) -> None:
        self._source = source
        self._extra = extra

    def collect(self) -> Iterator[Metric]:
        yield from self._source.collect()
        yield from self._extra
