"""The security log: one line per event, its shape fixed by the event's name."""

from __future__ import annotations

import json
import logging
from dataclasses import replace

import pytest

from authsvc.events import ClientInfo, EventKind, SecurityEvent
from authsvc.logs import JsonFormatter, request_id_var
from authsvc.observers.security_log import LINES, SecurityLog

EVERYTHING = SecurityEvent(
    EventKind.LOGIN_FAILED,
    user_id="u-1",
    session_id="s-1",
    client=ClientInfo(ip="203.0.113.9", user_agent="Firefox"),
    reason="logout",
    count=2,
    account_ref="0123456789abcdef",
    known_user=True,
)


def lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, object]]:
    return [
        json.loads(JsonFormatter().format(r))
        for r in caplog.records
        if r.name == "authsvc.security"
    ]


@pytest.mark.parametrize("kind", list(EventKind))
async def test_every_kind_is_written_as_one_line_named_after_it(
    kind: EventKind, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="authsvc.security")
    event = replace(EVERYTHING, kind=kind)
    token = request_id_var.set("req-7")
    try:
        await SecurityLog().record(event)
    finally:
        request_id_var.reset(token)

    [line] = lines(caplog)
    level, fields = LINES[kind]
    assert line["msg"] == line["event"] == kind.value
    assert line["level"] == logging.getLevelName(level).lower()
    assert line["request_id"] == "req-7"
    # Exactly the kind's fields: nothing an event carries for another purpose leaks in.
    assert set(line) == {"ts", "level", "logger", "msg", "event", "request_id", *fields}


async def test_fields_an_event_leaves_unset_are_written_as_null(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="authsvc.security")
    await SecurityLog().record(SecurityEvent(EventKind.LOGIN_FAILED, known_user=False, client=None))

    [line] = lines(caplog)
    assert line["user_id"] is None
    assert line["ip"] is None
    assert line["known_user"] is False


async def test_levels_follow_what_an_operator_must_look_at(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="authsvc.security")
    for kind in (
        EventKind.LOGIN_FAILED,
        EventKind.REFRESH_REUSE_DETECTED,
        EventKind.LOGIN_SUCCEEDED,
        EventKind.REFRESH_ROTATED,
    ):
        await SecurityLog().record(SecurityEvent(kind))

    # Routine refreshes stay out below DEBUG; refusals and attacks are warnings.
    assert [(line["event"], line["level"]) for line in lines(caplog)] == [
        ("login_failed", "warning"),
        ("refresh_reuse_detected", "warning"),
        ("login_succeeded", "info"),
    ]
