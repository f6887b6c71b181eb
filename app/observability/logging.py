"""Log lines on stderr: JSON in production, plain text in development and tests.

``LOG_FORMAT`` picks ``json`` (one object per line, for a log shipper) or ``text``; unset, it is
``json`` in production only. Every line carries the request id (see ``request_id.py``): the
handler's filter adds it, and the formatters fall back to "-" for a record that skipped it.

Nothing here logs request headers or bodies; extra fields whose names look like secrets
(password, token, secret, authorization, cookie) are redacted from JSON lines all the same.
"""

from __future__ import annotations

import logging

from flask import Flask
from pythonjsonlogger.json import JsonFormatter

from app.observability.request_id import RequestIdFilter

HANDLER_NAME = "bookcommerce"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"
JSON_FIELDS = ["levelname", "name", "message", "request_id"]
SECRET_WORDS = ("password", "token", "secret", "authorization", "cookie")


class RedactingJsonFormatter(JsonFormatter):
    """python-json-logger's formatter, minus any field named like a secret."""

    def process_log_record(self, log_data: dict) -> dict:
        for key in log_data:
            if any(word in key.lower() for word in SECRET_WORDS):
                log_data[key] = "[redacted]"
        return log_data


def json_formatter() -> logging.Formatter:
    return RedactingJsonFormatter(
        JSON_FIELDS,
        rename_fields={"levelname": "level", "name": "logger"},
        timestamp="time",
        defaults={"request_id": "-"},
    )


def text_formatter() -> logging.Formatter:
    return logging.Formatter(TEXT_FORMAT, defaults={"request_id": "-"})


def log_format(config: dict) -> str:
    chosen = config.get("LOG_FORMAT") or ("json" if config.get("ENV_NAME") == "production" else "text")
    if chosen not in ("json", "text"):
        raise RuntimeError(f"refusing to start: LOG_FORMAT is {chosen!r}; use json or text")
    return chosen


def configure_log_output(app: Flask) -> None:
    """One stderr handler on the root logger, in the chosen format, with request ids.

    Like ``logging.basicConfig``, it leaves logging alone when something else (pytest, a host
    process) has already put handlers on the root logger.
    """
    formatter = json_formatter() if log_format(app.config) == "json" else text_formatter()
    root = logging.getLogger()
    handler = next((h for h in root.handlers if h.name == HANDLER_NAME), None)
    if handler is None:
        if root.handlers:
            return
        handler = logging.StreamHandler()
        handler.name = HANDLER_NAME
        handler.addFilter(RequestIdFilter())
        root.addHandler(handler)
        root.setLevel(logging.INFO)
    handler.setFormatter(formatter)
