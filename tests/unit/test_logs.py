"""Logging setup: one JSON object per line, without the lookups no line shows."""

from __future__ import annotations

import io
import json
import logging

import pytest

from authsvc.logs import configure_logging, request_id_var


class Kept(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def configured(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    """configure_logging("INFO"), writing to a buffer; everything it changes is put back."""
    for name in ("_srcfile", "logThreads", "logProcesses", "logMultiprocessing"):
        monkeypatch.setattr(logging, name, getattr(logging, name))
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", list(root.handlers))
    monkeypatch.setattr(root, "level", root.level)
    configure_logging("INFO")
    stream = io.StringIO()
    (handler,) = root.handlers
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream)
    return stream


def test_a_line_is_one_json_object_with_its_fields_and_request_id(configured: io.StringIO) -> None:
    token = request_id_var.set("req-1")
    try:
        logging.getLogger("authsvc.access").info(
            "request", extra={"event_fields": {"path": "/auth/verify", "status": 200}}
        )
    finally:
        request_id_var.reset(token)
    (line,) = configured.getvalue().splitlines()
    entry = json.loads(line)
    assert entry["logger"] == "authsvc.access"
    assert entry["level"] == "info"
    assert entry["msg"] == "request"
    assert entry["request_id"] == "req-1"
    assert (entry["path"], entry["status"]) == ("/auth/verify", 200)
    assert entry["ts"].endswith("+00:00")


def test_records_skip_the_caller_thread_and_process_lookups(configured: io.StringIO) -> None:
    kept = Kept()
    logging.getLogger().addHandler(kept)
    logging.getLogger("authsvc.test").warning("once")
    (record,) = kept.records
    assert (record.funcName, record.lineno) == ("(unknown function)", 0)
    assert record.thread is None
    assert record.process is None
    assert record.processName is None
    assert json.loads(configured.getvalue())["msg"] == "once"
