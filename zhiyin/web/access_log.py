"""The server's access log without the secrets some URLs carry: a booking's ``last4``, a chat
``session`` (whoever has it reads the conversation) and an ``ask`` (a question may hold an ID
number). ``zhiyin serve`` installs ``RedactQuery`` on uvicorn's access logger."""

from __future__ import annotations

import copy
import logging
from urllib.parse import unquote_plus

REDACTED_QUERY_KEYS = frozenset({"last4", "session", "ask"})
REDACTED = "***"


def redact_query(target: str) -> str:
    """``/api/bookings/AB12CD34?last4=5678&x=1`` → ``/api/bookings/AB12CD34?last4=***&x=1``. Keys are
    compared decoded (``last%34`` is ``last4`` to the app); everything else is left as sent."""
    path, mark, query = target.partition("?")
    if not mark:
        return target
    parts = []
    for part in query.split("&"):
        key, eq, _ = part.partition("=")
        parts.append(f"{key}{eq}{REDACTED}" if eq and unquote_plus(key) in REDACTED_QUERY_KEYS else part)
    return f"{path}?{'&'.join(parts)}"


class RedactQuery(logging.Filter):
    """Rewrites uvicorn's access records: args are (client, method, path with query, version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], redact_query(args[2]), *args[3:])
        return True


def uvicorn_log_config() -> dict:
    """uvicorn's own logging configuration, with ``RedactQuery`` on its access logger."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact_query"] = {"()": RedactQuery}
    config["loggers"]["uvicorn.access"]["filters"] = ["redact_query"]
    return config
