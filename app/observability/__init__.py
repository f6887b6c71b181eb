"""Observability: request ids, structured logs, Prometheus metrics and (optionally) Sentry.

``configure_logging`` in the app factory sets up log output (``logging.py``);
``register_observability`` adds the rest: request ids on requests, responses, logs and jobs
(``request_id.py``), ``/metrics`` (``metrics.py``) and error reports to Sentry when
``SENTRY_DSN`` is set.
"""

from __future__ import annotations

from flask import Flask

from app.observability.metrics import register_metrics
from app.observability.request_id import register_request_id


def register_observability(app: Flask) -> None:
    register_request_id(app)
    register_metrics(app)
    init_sentry(app)


def init_sentry(app: Flask) -> None:
    """Send unhandled errors (web and jobs) to Sentry, without personal data; nothing when unset."""
    dsn = app.config.get("SENTRY_DSN")
    if not dsn:
        return
    import sentry_sdk
    from sentry_sdk.integrations.flask import FlaskIntegration
    from sentry_sdk.integrations.rq import RqIntegration

    sentry_sdk.init(
        dsn=dsn,
        integrations=[FlaskIntegration(), RqIntegration()],
        send_default_pii=False,
        traces_sample_rate=app.config.get("SENTRY_TRACES_SAMPLE_RATE", 0.0),
        environment=app.config.get("ENV_NAME"),
    )
