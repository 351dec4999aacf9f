"""Logging to stderr: plain lines for people, or one JSON object a line for shippers
(`LOG_FORMAT=json`). Library chatter that says nothing to an operator at INFO
(Alembic's "Context impl", APScheduler's every-30-seconds tick) shows from DEBUG on."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
CHATTY_AT_INFO = ("alembic", "apscheduler")


class JsonFormatter(logging.Formatter):
    """`{"time", "level", "logger", "message"}`, plus `error` with a traceback's text."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure(level: str, fmt: str = "text") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    quiet = logging.WARNING if level != "DEBUG" else logging.NOTSET
    for name in CHATTY_AT_INFO:
        logging.getLogger(name).setLevel(quiet)
