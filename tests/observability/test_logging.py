"""Log lines: JSON or text, always with the request id, never with a secret; optional Sentry."""

import io
import json
import logging

import pytest

from app import create_app
from app.observability import init_sentry
from app.observability.logging import configure_log_output, json_formatter, log_format, text_formatter
from app.observability.request_id import RequestIdFilter
from tests.conftest import make_config


def record(message="order %s paid", *args, **extra) -> logging.LogRecord:
    entry = logging.LogRecord("app.orders", logging.INFO, __file__, 1, message, args or (5,), None)
    entry.__dict__.update(extra)
    return entry


def test_a_json_log_line_has_time_level_logger_message_and_request_id(app):
    entry = record()
    with app.test_request_context(headers={"X-Request-ID": "pay-1"}):
        RequestIdFilter().filter(entry)
    line = json_formatter().format(entry)
    data = json.loads(line)
    assert "\n" not in line
    assert set(data) == {"time", "level", "logger", "message", "request_id"}
    assert (data["level"], data["logger"], data["message"], data["request_id"]) == (
        "INFO",
        "app.orders",
        "order 5 paid",
        "pay-1",
    )
    assert data["time"].startswith("20") and "T" in data["time"]


def test_a_line_outside_any_request_says_so():
    entry = record()
    RequestIdFilter().filter(entry)
    assert json.loads(json_formatter().format(entry))["request_id"] == "-"
    assert "[-]" in text_formatter().format(record())  # even without the filter


def test_fields_named_like_secrets_are_redacted():
    entry = record(password="hunter2", api_token="tok-123", authorization="Bearer abc", book_id=3)
    line = json_formatter().format(entry)
    assert "hunter2" not in line and "tok-123" not in line and "Bearer abc" not in line
    assert json.loads(line)["book_id"] == 3


def test_text_lines_carry_the_request_id(app):
    entry = record()
    with app.test_request_context(headers={"X-Request-ID": "pay-2"}):
        RequestIdFilter().filter(entry)
    assert text_formatter().format(entry).endswith("INFO app.orders [pay-2]: order 5 paid")


def test_json_is_the_default_in_production_only():
    assert log_format({"ENV_NAME": "production"}) == "json"
    assert log_format({"ENV_NAME": "development"}) == "text"
    assert log_format({"ENV_NAME": "testing"}) == "text"
    assert log_format({"ENV_NAME": "development", "LOG_FORMAT": "json"}) == "json"
    assert log_format({"ENV_NAME": "production", "LOG_FORMAT": "text"}) == "text"


def test_an_unknown_log_format_refuses_to_start(base_settings):
    with pytest.raises(RuntimeError, match="LOG_FORMAT"):
        create_app(make_config(**base_settings, LOG_FORMAT="xml"))


def test_the_app_logs_each_line_as_json_with_its_request_id(app, client, monkeypatch):
    """The handler the app installs on a bare root logger (as under gunicorn)."""
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [])
    monkeypatch.setattr(root, "level", root.level)
    monkeypatch.setitem(app.config, "LOG_FORMAT", "json")
    configure_log_output(app)
    [handler] = root.handlers
    stream = io.StringIO()
    handler.setStream(stream)

    client.get("/no-such-page", headers={"X-Request-ID": "lost-1", "Authorization": "Bearer secret-xyz"})
    with app.test_request_context(headers={"X-Request-ID": "note-2"}):
        logging.getLogger("app.test").warning("a note")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert lines and all("request_id" in line for line in lines)
    assert {"logger": "app.test", "message": "a note", "request_id": "note-2"}.items() <= lines[-1].items()
    assert "secret-xyz" not in stream.getvalue()


def test_sentry_is_left_off_without_a_dsn(app, monkeypatch):
    calls = []
    monkeypatch.setattr("sentry_sdk.init", lambda **kwargs: calls.append(kwargs))
    init_sentry(app)
    assert calls == []


def test_sentry_reports_web_and_job_errors_without_personal_data(app, monkeypatch):
    from sentry_sdk.integrations.flask import FlaskIntegration
    from sentry_sdk.integrations.rq import RqIntegration

    calls = []
    monkeypatch.setattr("sentry_sdk.init", lambda **kwargs: calls.append(kwargs))
    monkeypatch.setitem(app.config, "SENTRY_DSN", "https://public@sentry.example.com/1")
    monkeypatch.setitem(app.config, "SENTRY_TRACES_SAMPLE_RATE", 0.05)
    init_sentry(app)
    [options] = calls
    assert options["dsn"] == "https://public@sentry.example.com/1"
    assert options["send_default_pii"] is False and options["traces_sample_rate"] == 0.05
    assert {type(i) for i in options["integrations"]} == {FlaskIntegration, RqIntegration}
