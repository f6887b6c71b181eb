"""Job functions used by the job tests (importable by the worker)."""

from flask import current_app

from app.jobs import redis_connection


def flaky(key: str, failures: int) -> str:
    """Fail ``failures`` times (counted in Redis), then succeed and record it."""
    connection = redis_connection(current_app)
    attempt = connection.incr(f"test:attempts:{key}")
    if attempt <= failures:
        raise RuntimeError(f"flaky failure {attempt}")
    connection.set(f"test:done:{key}", attempt)
    return "done"


def always_fails() -> None:
    raise ValueError("this job never works")
