"""Redis goes away under a running app: pages render, /readyz says so, no email is lost.

The test runs its own throw-away ``redis-server`` on a free port (the machine's Redis is never
touched), builds the production-shaped app on it (jobs on RQ, cache and rate limits on Redis),
then terminates that server.
"""

from __future__ import annotations

import shutil
import subprocess
import time

import pytest
import redis
from sqlalchemy import select

from app import create_app
from app.extensions import db, limiter
from app.models import EmailMessage, User
from tests.conftest import free_port, make_config, need
from tests.helpers import link_in, login_as, make_user, path_of, register_user

pytestmark = [pytest.mark.redis, pytest.mark.smtp]


def _start_redis(port: int) -> subprocess.Popen:
    binary = shutil.which("redis-server")
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port, socket_connect_timeout=0.5)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            return process
        except redis.ConnectionError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError(f"redis-server on port {port} did not start") from None
            time.sleep(0.05)


@pytest.fixture
def doomed_redis():
    """A private redis-server; the test stops it with ``stop()``. Yields (url, stop)."""
    need("redis-server", shutil.which("redis-server") is not None, "install the redis-server package")
    port = free_port()
    process = _start_redis(port)

    def stop() -> None:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=10)

    yield f"redis://127.0.0.1:{port}/0", stop
    stop()


@pytest.fixture
def app_on_doomed_redis(app, base_settings, doomed_redis):
    """The production shape (RQ, RedisCache, Redis rate limits) on the private Redis."""
    url, stop = doomed_redis
    application = create_app(make_config(**{**base_settings, "REDIS_URL": url, "RATELIMIT_STORAGE_URI": url}))
    yield application, stop
    # Flask-Limiter is one object for every app in the process and now points at the dead
    # server: give it back the suite's memory storage (and forget that its storage "died").
    create_app(make_config(**base_settings))
    limiter._storage_dead = False


def test_the_site_keeps_working_when_redis_goes_away(app_on_doomed_redis, inbox, caplog):
    application, stop_redis = app_on_doomed_redis
    client = application.test_client()
    with application.app_context():
        make_user(email="rosa@example.com")

    # Up: everything ready; the pages fill the Redis cache and the limiter counts in Redis.
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["checks"] == {"database": "ok", "redis": "ok"}
    for path in ("/", "/books", "/clubs"):
        assert client.get(path).status_code == 200, path

    stop_redis()

    # Down: the pages still render (the cache misses instead of failing)...
    for path in ("/", "/books", "/books?q=austen", "/clubs"):
        assert client.get(path).status_code == 200, path

    # ... /readyz names what failed, so a load balancer can act on it ...
    ready = client.get("/readyz")
    assert ready.status_code == 503
    checks = ready.get_json()["checks"]
    assert checks["database"] == "ok"
    assert checks["redis"].startswith("failed: ")

    # ... a rate-limited form still answers (limits fall back to this process's memory) ...
    assert login_as(client, email="rosa@example.com").status_code == 303
    client.post("/auth/logout")

    # ... and registering (which sends an email through the queue) succeeds and the email is
    # delivered at once instead of being lost with the queue.
    response = register_user(client, email="nina@example.com")
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:500]
    message = inbox.wait_for("nina@example.com")[0]
    assert message["Subject"] == "Confirm your email for Book Commerce"
    with application.app_context():
        user = db.session.scalar(select(User).where(User.email == "nina@example.com"))
        assert user is not None
        record = db.session.scalar(select(EmailMessage).where(EmailMessage.recipient == "nina@example.com"))
        assert (record.status, record.attempts) == ("sent", 1)

    # Each fallback leaves a warning in the log for the operator.
    assert "could not queue email(s)" in caplog.text and "delivering them here" in caplog.text
    assert "cache get skipped, Redis unavailable" in caplog.text

    # The link in that email works too.
    assert client.get(path_of(link_in(message, "/auth/verify"))).status_code in (200, 302)
