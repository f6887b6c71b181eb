"""How the app's engine talks to PostgreSQL, directly or through PgBouncer in transaction mode.

Behind PgBouncer (``DATABASE_PGBOUNCER=1``) each transaction may run on a different server
connection, so nothing may live in the session between transactions: no ``SET``, no advisory lock
held across commits, no server-side prepared statement. psycopg 3 prepares a statement after its
fifth run on a connection (``prepare_threshold=5``); PgBouncer 1.18 would then hand the prepared
name to a server that never saw it ("prepared statement "_pg3_0" does not exist"), so the threshold
is turned off there. The planner's page cost is a database setting (migration
``planner_b8d4f2a6c1e9``), not a per-connection ``SET``, for the same reason.
"""

from __future__ import annotations

from flask import Flask


def engine_options(app: Flask) -> dict:
    """``SQLALCHEMY_ENGINE_OPTIONS`` with what PgBouncer's transaction pooling needs added."""
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    uri = str(app.config.get("SQLALCHEMY_DATABASE_URI") or "")
    if app.config.get("DATABASE_PGBOUNCER") and uri.startswith("postgresql"):
        options["connect_args"] = {**options.get("connect_args", {}), "prepare_threshold": None}
    return options


def configure_database(app: Flask) -> None:
    """Fill in the engine options before Flask-SQLAlchemy builds the engine."""
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(app)
