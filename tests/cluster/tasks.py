"""Jobs for tests/cluster (importable by a forked RQ work-horse)."""

from sqlalchemy import text

from app.extensions import db


def backend_pid() -> int:
    """The PostgreSQL backend this job's transaction ran on, with the transaction left open."""
    return db.session.scalar(text("SELECT pg_backend_pid()"))
