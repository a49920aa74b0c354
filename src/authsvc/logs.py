"""Process-wide logging setup: one JSON object per line, for log shippers."""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime

# The id of the request being served, set by RequestRecordMiddleware
# (middleware.py); "-" outside requests.
request_id_var: ContextVar[str] = ContextVar("authsvc_request_id", default="-")


class JsonFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__()
        # Built once: `json.dumps(..., default=str)` would build an encoder per line.
        self._encode = json.JSONEncoder(default=str).encode

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            "request_id": request_id_var.get(),
        }
        fields = getattr(record, "event_fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return self._encode(entry)


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Every request logs a line, and JsonFormatter writes none of what the logging module
    # otherwise looks up for each record: the calling function and line, the thread, the
    # process, the multiprocessing process's name. Off, as the logging HOWTO's
    # "Optimization" section shows: a quarter of what a line costs.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
