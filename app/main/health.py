"""What a load balancer asks: is the process up, and can it reach what it needs?"""

from flask import current_app
from sqlalchemy import text

from app.breakers import NAMES, breakers
from app.extensions import db
from app.jobs import redis_connection


def readiness() -> dict[str, str]:
    """The state of each dependency: ``ok`` or a short reason it failed."""
    checks: dict[str, str] = {}
    try:
        db.session.execute(text("SELECT 1"))
        db.session.rollback()
        checks["database"] = "ok"
    except Exception as exc:  # any driver error means "not ready"
        db.session.rollback()
        checks["database"] = f"failed: {type(exc).__name__}"
    if current_app.config.get("REDIS_URL"):
        try:
            redis_connection().ping()
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = f"failed: {type(exc).__name__}"
    return checks


def breaker_states() -> dict[str, str]:
    """Each circuit breaker's state: ``closed``, ``open`` or ``half-open`` (app/breakers.py).
    Any but ``closed`` makes the app ``degraded``: it serves, without what that breaker guards."""
    return {name: breakers().state(name) for name in NAMES}
