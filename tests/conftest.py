"""Fixtures: one app per test session, a clean database per test, real SMTP, Redis and browser.

The suite runs on SQLite by default and on PostgreSQL when DATABASE_URL points there. With
BC_REQUIRE_SERVICES=1 (set by .ci/run) a test that needs PostgreSQL, Redis or the browser fails
instead of skipping.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import event, inspect, text

from app import create_app
from app.breakers import breakers
from app.extensions import cache, db, limiter
from config import TestingConfig
from tests.payments.webhooks import stripe_settings

REQUIRE_SERVICES = os.environ.get("BC_REQUIRE_SERVICES") == "1"
CHROMIUM = "/usr/bin/chromium"


def need(service: str, available: bool, why: str) -> None:
    """Skip when a service is missing locally; fail in CI, where everything must run."""
    if available:
        return
    message = f"{service} is not available: {why}"
    if REQUIRE_SERVICES:
        pytest.fail(message + " (BC_REQUIRE_SERVICES=1: service tests may not skip)")
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---- SMTP: a real server on 127.0.0.1 -------------------------------------------------------


class Inbox:
    """What the aiosmtpd server received."""

    def __init__(self) -> None:
        self.messages: list = []
        self.refuse_next = 0  # answer "451 try again later" this many times
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler hook
        from email import message_from_bytes, policy

        with self._lock:
            if self.refuse_next > 0:
                self.refuse_next -= 1
                return "451 4.3.0 Mailbox busy, try again later"
            self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    def clear(self) -> None:
        with self._lock:
            self.messages.clear()
            self.refuse_next = 0

    def to(self, address: str) -> list:
        return [m for m in self.messages if address.lower() in m["To"].lower()]

    def wait_for(self, address: str, count: int = 1, timeout: float = 10.0) -> list:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.to(address)
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError(f"expected {count} email(s) to {address}, got {len(self.to(address))}")


@pytest.fixture(scope="session")
def smtp_server():
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield controller, inbox
    controller.stop()


@pytest.fixture
def inbox(smtp_server):
    _, box = smtp_server
    box.clear()
    return box


# ---- The app and its database ---------------------------------------------------------------


def _test_database_url(tmp_dir: Path) -> str:
    return (
        TestingConfig.SQLALCHEMY_DATABASE_URI if os.environ.get("DATABASE_URL") else f"sqlite:///{tmp_dir / 'test.db'}"
    )


def make_config(**overrides):
    """A TestingConfig subclass with ``overrides`` (a class, as create_app expects)."""
    return type("Config", (TestingConfig,), overrides)


@pytest.fixture
def busy_app(app, base_settings):
    """``busy_app(n)``: an app on the test database whose pool holds ``n`` connections, for tests that
    run many threads at once. Its connections are closed after the test: left open, a few such
    pools use up PostgreSQL's ``max_connections`` for the rest of the run."""
    made = []

    def make(pool_size: int):
        application = create_app(
            make_config(**base_settings, SQLALCHEMY_ENGINE_OPTIONS={"pool_size": pool_size, "pool_pre_ping": True})
        )
        made.append(application)
        return application

    yield make
    for application in made:
        with application.app_context():
            db.engine.dispose()


@pytest.fixture(scope="session")
def base_settings(tmp_path_factory, smtp_server):
    controller, _ = smtp_server
    tmp_dir = tmp_path_factory.mktemp("app")
    return {
        "SQLALCHEMY_DATABASE_URI": _test_database_url(tmp_dir),
        "REDIS_URL": None,
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": controller.port,
        "OUTBOX_DIR": str(tmp_dir / "outbox"),
        "MEDIA_ROOT": str(tmp_dir / "media"),
        # Flask-Limiter keeps one storage for every app in the process: all test apps share a kind.
        "RATELIMIT_STORAGE_URI": "memory://",
    }


@pytest.fixture(scope="session")
def app(base_settings):
    """The embedded default (jobs inline, in-process cache), on the test database, mail to SMTP."""
    application = create_app(make_config(**base_settings))
    with application.app_context():
        reset_schema()
    return application


def reset_schema() -> None:
    """Drop whatever is there and build the schema with the migrations (proving they run)."""
    from flask_migrate import upgrade

    db.drop_all()
    with db.engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        if db.engine.dialect.name == "sqlite":
            conn.execute(text("DROP TABLE IF EXISTS books_fts"))
    upgrade(directory=str(Path(__file__).resolve().parent.parent / "migrations"))


def clean_tables() -> None:
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    db.session.remove()
    with db.engine.begin() as conn:
        if db.engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(text(f"DELETE FROM {table}"))


@pytest.fixture(autouse=True)
def _isolate(request):
    """Each test starts with empty tables and fresh rate-limit counters."""
    if "app" not in request.fixturenames:
        yield
        return
    application = request.getfixturevalue("app")
    with application.app_context():
        clean_tables()
        limiter.reset()
        breakers().reset()  # a test whose mail server or gateway failed leaves no breaker open
        cache.clear()  # ids restart with the tables: a cached row of the last test's user 1 is not this one's
    yield
    with application.app_context():
        db.session.remove()


@pytest.fixture
def app_ctx(app):
    with app.app_context():
        yield app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def count_queries(app):
    """Count SQL statements run inside the block: ``with count_queries() as q: ...; q.count``."""
    from contextlib import contextmanager

    @contextmanager
    def counter():
        class Result:
            count = 0
            statements: list[str] = []

        result = Result()
        result.statements = []

        def before(conn, cursor, statement, *args):
            if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE")):
                result.count += 1
                result.statements.append(statement)

        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", before)
        try:
            yield result
        finally:
            event.remove(engine, "before_cursor_execute", before)

    return counter


# ---- Redis ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def redis_url():
    url = os.environ.get("REDIS_URL")
    available, why = bool(url), "REDIS_URL is not set"
    if url:
        import redis

        try:
            redis.Redis.from_url(url, socket_connect_timeout=2).ping()
        except Exception as exc:  # pragma: no cover - only when Redis is down
            available, why = False, f"{url} does not answer ({exc})"
    return url if available else None, why


@pytest.fixture
def redis_app(app, base_settings, redis_url):
    """The production shape: jobs on RQ, cache and rate limits on Redis. Same database as ``app``."""
    url, why = redis_url
    need("Redis", url is not None, why)
    import redis

    redis.Redis.from_url(url).flushdb()
    application = create_app(make_config(**{**base_settings, "REDIS_URL": url, "RATELIMIT_STORAGE_URI": url}))
    yield application
    redis.Redis.from_url(url).flushdb()


# ---- Stripe: a local stub of its API -------------------------------------------------------


@pytest.fixture
def stripe_app(app, base_settings, httpserver):
    """An app that pays with Stripe (the pytest-httpserver stub), on the same database as ``app``.

    Webhook events for it are signed with tests.payments.webhooks (``deliver``)."""
    return create_app(make_config(**{**base_settings, **stripe_settings(httpserver)}))


def database_is_postgres(app) -> bool:
    with app.app_context():
        return db.engine.dialect.name == "postgresql"


def table_names(app) -> set[str]:
    with app.app_context():
        return set(inspect(db.engine).get_table_names())
