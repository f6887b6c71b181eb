"""The "smtp" circuit breaker against an SMTP server that is down or hangs on demand.

The server is tests/notifications' counting aiosmtpd server; ``hang`` makes it sit on each
message past the app's MAIL_TIMEOUT_SECONDS (and then refuse it, so a message the app gave up
on is never counted as received). Emails are recorded one commit at a time, as requests do on
the embedded default (each commit delivers its email at once, in the request). After
BREAKER_SMTP_FAIL_MAX failures the breaker opens: the next commits return at once and their
emails wait, pending, with no attempt spent; the sweep leaves them alone during the cool-down and
sends every email exactly once after it.
"""

from __future__ import annotations

import asyncio
import statistics
import time

import pytest
from sqlalchemy import select

from app.breakers import breakers
from app.extensions import db
from app.jobs import run_worker
from app.models import EmailMessage
from app.notifications import email as email_module
from app.notifications import outbox
from tests.conftest import free_port, need
from tests.notifications.test_batches import CountingServer, app_for, message_ids, results, statuses

FAIL_MAX = 2
COOL_DOWN = 1.0
MAIL_TIMEOUT = 0.3
FAST = 0.2  # the bound for an answer while the breaker is open
EMAILS = 5


class FlakyServer(CountingServer):
    """The counting server, which can also hang on each message."""

    hang = False

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler hook
        if self.hang:
            await asyncio.sleep(MAIL_TIMEOUT * 4)
            return "451 4.3.0 Too late"  # the client gave up long ago: nothing was received
        return await super().handle_DATA(server, session, envelope)


def mail_app(base_settings, port: int):
    return app_for(
        base_settings,
        port,
        MAIL_TIMEOUT_SECONDS=MAIL_TIMEOUT,
        BREAKER_SMTP_FAIL_MAX=FAIL_MAX,
        BREAKER_SMTP_RESET_SECONDS=COOL_DOWN,
        MAIL_SWEEP_AFTER_SECONDS=0,  # the sweep takes what waits at once (its age limit is not tested here)
    )


def record_one_at_a_time(count: int) -> list[float]:
    """Record ``count`` emails, one commit each (delivered at once, in the committing request):
    the seconds each commit took."""
    took = []
    for n in range(count):
        started = time.perf_counter()
        results(1, prefix=f"mail{n}")
        took.append(time.perf_counter() - started)
    return took


def rows() -> list[tuple[str, int]]:
    db.session.expire_all()
    return list(db.session.execute(select(EmailMessage.status, EmailMessage.attempts).order_by(EmailMessage.id)))


def readyz(application) -> dict:
    response = application.test_client().get("/readyz")
    assert response.status_code == 200
    return response.get_json()


def sweep_after_the_cool_down_sends_each_email_once(application, server: FlakyServer) -> None:
    with application.app_context():
        assert outbox.retry_stuck_emails() == 0  # the breaker refuses: the sweep waits for it
        time.sleep(COOL_DOWN + 0.1)
        assert outbox.retry_stuck_emails() == EMAILS  # the first connection is the trial call
        server.wait_for(EMAILS)
        assert breakers().state("smtp") == "closed"
        assert outbox.retry_stuck_emails() == 0
        time.sleep(0.2)
        assert statuses() == {"sent": EMAILS}
        assert server.message_ids.keys() == message_ids()
    assert set(server.message_ids.values()) == {1}  # every email exactly once
    assert readyz(application)["status"] == "ok"


@pytest.mark.parametrize("failure", ["down", "hang"])
def test_the_breaker_holds_emails_while_smtp_fails_and_each_goes_once_after(app, base_settings, failure):
    server = FlakyServer(free_port())
    application = mail_app(base_settings, server.port)
    running = failure == "hang"  # "down": nothing listens on the port until the server starts
    if running:
        server.hang = True
        server.start()
    try:
        with application.app_context():
            took = record_one_at_a_time(EMAILS)
            assert breakers().state("smtp") == "open"
            # The first FAIL_MAX commits tried the server; the others did not even try.
            tried, refused = rows()[:FAIL_MAX], rows()[FAIL_MAX:]
            if failure == "down":
                assert tried == [("pending", 0)] * FAIL_MAX  # nothing handed over: no attempt spent
            else:
                assert tried == [("failed", 1)] * FAIL_MAX  # timed out mid-message: an attempt spent
                assert min(took[:FAIL_MAX]) >= MAIL_TIMEOUT
            assert refused == [("pending", 0)] * (EMAILS - FAIL_MAX)
            # No commit waits on the failing server any more (wall clock on a shared machine: the median).
            assert statistics.median(took[FAIL_MAX:]) < FAST
        health = readyz(application)
        assert health["status"] == "degraded" and health["breakers"]["smtp"] == "open"
        assert sum(server.message_ids.values()) == 0

        if not running:
            server.start()
            running = True
        server.hang = False
        sweep_after_the_cool_down_sends_each_email_once(application, server)
    finally:
        if running:
            server.stop()


@pytest.mark.redis
def test_redis_mail_jobs_share_the_breaker_and_each_email_goes_once(app, base_settings, redis_url):
    """On RQ: the mail worker's failures open the breaker in Redis; the commits queue their jobs and
    never wait; after the cool-down one sweep sends every email once."""
    url, why = redis_url
    need("Redis", url is not None, why)
    import redis

    redis.Redis.from_url(url).flushdb()
    cool_down = 2  # the shared opening time is kept in whole seconds
    server, running = FlakyServer(free_port()), False  # down until started
    application = app_for(
        base_settings,
        server.port,
        REDIS_URL=url,
        RATELIMIT_STORAGE_URI=url,
        BREAKER_SMTP_FAIL_MAX=FAIL_MAX,
        BREAKER_SMTP_RESET_SECONDS=cool_down,
        MAIL_SWEEP_AFTER_SECONDS=0,
    )
    try:
        with application.app_context():
            for n in range(EMAILS):
                results(1, prefix=f"queued{n}")  # one job per commit
        run_worker(application, ["mail"], burst=True, simple=True)  # two jobs fail, the rest never try
        with application.app_context():
            assert rows() == [("pending", 0)] * EMAILS
            assert breakers().state("smtp") == "open"
            assert outbox.retry_stuck_emails() == 0
        assert redis.Redis.from_url(url).get("bookcommerce:breaker:smtp:pybreaker:state") == b"open"

        server.start()
        running = True
        time.sleep(cool_down + 1.1)
        with application.app_context():
            assert outbox.retry_stuck_emails() == EMAILS
        run_worker(application, ["mail"], burst=True, simple=True)
        server.wait_for(EMAILS)
        time.sleep(0.2)
        with application.app_context():
            assert statuses() == {"sent": EMAILS}
            assert server.message_ids.keys() == message_ids()
            assert breakers().state("smtp") == "closed"
        assert set(server.message_ids.values()) == {1}
    finally:
        if running:
            server.stop()
        redis.Redis.from_url(url).flushdb()


def test_a_batch_asks_the_smtp_breaker_once_per_connection_not_per_email(app, base_settings, monkeypatch):
    """The breaker guards opening the connection with its first message: a batch of 6 emails is
    one breaker call (with the state in Redis, each call costs round trips), and all 6 go out."""
    server = CountingServer().start()
    try:
        application = app_for(base_settings, server.port)
        calls = []
        real = email_module.guarded
        monkeypatch.setattr(email_module, "guarded", lambda name, *a, **k: calls.append(name) or real(name, *a, **k))
        with application.app_context():
            results(6)
            server.wait_for(6)
            assert statuses() == {"sent": 6}
        assert calls == ["smtp"]
    finally:
        server.stop()
