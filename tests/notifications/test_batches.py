"""Mail in batches: a commit's emails go out over one SMTP connection, two workers never send the
same email, and an SMTP server that is down or a worker cut off mid-batch loses nothing.

Each test runs its own aiosmtpd server (a free port) that counts messages by Message-ID and the
connections they came over.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta
from unittest.mock import patch

import pytest
from aiosmtpd.controller import Controller
from rq import Queue
from rq.timeouts import JobTimeoutException
from sqlalchemy import select, text, update

from app import create_app
from app.extensions import db
from app.jobs import redis_connection, run_worker
from app.models import EmailMessage
from app.models.base import utcnow
from app.notifications import email as email_module
from app.notifications import outbox
from app.notifications.email import deliver_emails, record_email
from tests.conftest import database_is_postgres, free_port, make_config, need


class CountingServer:
    """An SMTP server on 127.0.0.1 that counts what it receives, and the connections."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.message_ids: Counter[str] = Counter()
        self.connections: set = set()
        self._lock = threading.Lock()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler hook
        from email import message_from_bytes

        message_id = message_from_bytes(envelope.content)["Message-ID"]
        with self._lock:
            self.message_ids[message_id] += 1
            self.connections.add(session.peer)
        return "250 OK"

    def start(self) -> CountingServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def wait_for(self, count: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while sum(self.message_ids.values()) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} emails, got {sum(self.message_ids.values())}")
            time.sleep(0.02)


@pytest.fixture
def smtp():
    server = CountingServer().start()
    yield server
    server.stop()


def app_for(base_settings, port: int, **settings):
    """The app on the test database, its mail going to ``port``."""
    return create_app(make_config(**{**base_settings, "MAIL_PORT": port, **settings}))


def results(count: int, prefix: str = "result") -> list[int]:
    """Record ``count`` emails in one transaction (like a contest's results) and commit."""
    emails = [
        record_email(
            key=f"{prefix}:{n}",
            template="password_changed",
            to=f"reader{n}@example.com",
            subject=f"Result {n}",
            reset_link="http://localhost/reset",
        )
        for n in range(count)
    ]
    db.session.commit()
    return [e.id for e in emails]


def statuses() -> Counter[str]:
    db.session.expire_all()
    return Counter(db.session.scalars(select(EmailMessage.status)))


def message_ids() -> set[str]:
    return set(db.session.scalars(select(EmailMessage.message_id)))


# ---- One connection for many messages ----------------------------------------------------------


def test_a_commits_emails_go_out_over_one_smtp_connection(app, base_settings, smtp):
    application = app_for(base_settings, smtp.port)
    with application.app_context():
        results(25)
        smtp.wait_for(25)
        assert smtp.message_ids.keys() == message_ids() and set(smtp.message_ids.values()) == {1}
        assert statuses() == {"sent": 25}
    assert len(smtp.connections) == 1


@pytest.mark.redis
def test_redis_a_commits_emails_make_one_job_per_batch_each_over_one_connection(
    app, base_settings, redis_url, smtp, monkeypatch
):
    url, why = redis_url
    need("Redis", url is not None, why)
    application = app_for(base_settings, smtp.port, REDIS_URL=url, RATELIMIT_STORAGE_URI=url, MAIL_BATCH_SIZE=10)
    with application.app_context():
        redis_connection().flushdb()
        results(25)
        assert Queue("mail", connection=redis_connection()).count == 3  # 10 + 10 + 5, not 25 jobs
        assert smtp.message_ids == Counter()
    run_worker(application, ["mail"], burst=True)  # the forking worker, as deployed
    smtp.wait_for(25)
    with application.app_context():
        assert smtp.message_ids.keys() == message_ids() and set(smtp.message_ids.values()) == {1}
        assert statuses() == {"sent": 25}
        redis_connection().flushdb()
    assert len(smtp.connections) == 3


def test_a_forking_workers_preparation_sends_and_changes_nothing(app, base_settings, smtp):
    """The parent of a forking worker runs delivery's statements once on no email (so its
    work-horses find them compiled): waiting emails stay as they were, and nothing goes out."""
    application = app_for(base_settings, smtp.port)
    with application.app_context():
        with patch.object(outbox, "hand_over"):  # recorded, not sent: as if queued
            results(3)
        email_module.prepare_delivery()
        db.session.expire_all()
        rows = db.session.scalars(select(EmailMessage)).all()
        assert [(e.status, e.attempts, e.sent_at, e.last_error) for e in rows] == [("pending", 0, None, None)] * 3
    assert smtp.message_ids == Counter()


@pytest.mark.redis
def test_redis_flask_jobs_worker_simple_sends_a_batch_without_forking(app, base_settings, redis_url, smtp):
    url, why = redis_url
    need("Redis", url is not None, why)
    application = app_for(base_settings, smtp.port, REDIS_URL=url, RATELIMIT_STORAGE_URI=url)
    with application.app_context():
        redis_connection().flushdb()
        results(12)
    result = application.test_cli_runner().invoke(args=["jobs", "worker", "--queue", "mail", "--burst", "--simple"])
    assert result.exit_code == 0 and "no fork" in result.output, result.output
    smtp.wait_for(12)
    with application.app_context():
        assert statuses() == {"sent": 12}
        redis_connection().flushdb()
    assert set(smtp.message_ids.values()) == {1} and len(smtp.connections) == 1


# ---- Two workers, one send per email -----------------------------------------------------------


def test_two_workers_delivering_the_same_batch_send_each_email_once(app, base_settings, smtp, monkeypatch):
    monkeypatch.setattr(outbox, "hand_over", lambda ids: None)  # recorded only: the workers below send
    application = app_for(base_settings, smtp.port, SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 4})
    with application.app_context():
        ids = results(60)
    outcomes = []

    def worker():
        with application.app_context():
            outcomes.append(deliver_emails(ids))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    smtp.wait_for(60)
    time.sleep(0.2)
    with application.app_context():
        assert statuses() == {"sent": 60}
        assert smtp.message_ids.keys() == message_ids()
        db.engine.dispose()
    assert set(smtp.message_ids.values()) == {1}  # no email twice
    assert sum(int(outcome.split()[0]) for outcome in outcomes) == 60


def test_postgres_a_worker_skips_the_emails_another_is_claiming_instead_of_waiting(app, base_settings, smtp):
    if not database_is_postgres(app):
        pytest.skip("row locks (FOR UPDATE SKIP LOCKED) are PostgreSQL's; SQLite writes one at a time")
    application = app_for(base_settings, smtp.port)
    with application.app_context(), pytest.MonkeyPatch.context() as patch:
        patch.setattr(outbox, "hand_over", lambda ids: None)
        ids = results(10)
    with application.app_context():
        engine = db.engine
        with engine.connect() as claiming:  # another worker's claim, not committed yet
            claiming.execute(text("SELECT id FROM email_messages WHERE id <= :last FOR UPDATE"), {"last": ids[3]})
            started = time.monotonic()
            outcome = deliver_emails(ids)
            assert time.monotonic() - started < 5  # did not wait for the other worker's rows
            assert outcome.startswith("6 sent")
            claiming.rollback()
        smtp.wait_for(6)
        assert statuses() == {"sent": 6, "pending": 4}
        assert deliver_emails(ids).startswith("4 sent")  # the other worker gave them up
        smtp.wait_for(10)
        assert set(smtp.message_ids.values()) == {1}


# ---- The SMTP server is down, a worker is cut off ----------------------------------------------


def test_emails_wait_while_the_smtp_server_is_down_and_go_once_when_it_is_back(app, base_settings):
    port = free_port()  # nothing listens there yet
    application = app_for(base_settings, port)
    with application.app_context():
        ids = results(5)  # the commit tries to deliver them at once (no Redis) and cannot
        db.session.expire_all()
        rows = db.session.scalars(select(EmailMessage).order_by(EmailMessage.id)).all()
        assert {(r.status, r.attempts) for r in rows} == {("pending", 0)}  # waiting, no attempt spent
        assert all("ConnectionRefusedError" in r.last_error for r in rows)
        assert outbox.troubled_emails() == []  # not failed: just waiting (the sweep's age limit applies)

        server = CountingServer(port).start()
        try:
            db.session.execute(update(EmailMessage).values(updated_at=utcnow() - timedelta(seconds=3600)))
            db.session.commit()  # the sweep's wait has passed
            assert outbox.retry_stuck_emails() == 5
            server.wait_for(5)
            assert outbox.retry_stuck_emails() == 0
            time.sleep(0.2)
            assert server.message_ids.keys() == message_ids() and set(server.message_ids.values()) == {1}
            assert len(server.connections) == 1
            assert statuses() == {"sent": 5}
            assert deliver_emails(ids).startswith("0 sent")
        finally:
            server.stop()


@pytest.mark.redis
def test_redis_a_job_retries_while_the_server_is_down_and_sends_once_when_it_is_back(app, base_settings, redis_url):
    url, why = redis_url
    need("Redis", url is not None, why)
    port = free_port()
    application = app_for(base_settings, port, REDIS_URL=url, RATELIMIT_STORAGE_URI=url)
    with application.app_context():
        redis_connection().flushdb()
        results(4)
    run_worker(application, ["mail"], burst=True, simple=True)  # every retry fails: the server is down
    with application.app_context():
        assert statuses() == {"pending": 4}
        assert {a for a in db.session.scalars(select(EmailMessage.attempts))} == {0}
    server = CountingServer(port).start()
    try:
        result = application.test_cli_runner().invoke(args=["jobs", "requeue", "--all"])
        assert "Requeued 1 job(s)." in result.output, result.output
        run_worker(application, ["mail"], burst=True)
        server.wait_for(4)
        time.sleep(0.2)
        with application.app_context():
            assert statuses() == {"sent": 4}
            assert server.message_ids.keys() == message_ids()
            redis_connection().flushdb()
        assert set(server.message_ids.values()) == {1}
    finally:
        server.stop()


def test_a_batch_cut_off_midway_keeps_what_it_sent_and_the_sweep_sends_the_rest_once(
    app, base_settings, smtp, monkeypatch
):
    monkeypatch.setattr(outbox, "hand_over", lambda ids: None)
    application = app_for(base_settings, smtp.port)
    transmit = email_module._transmit
    sent = []

    def cut_off_after_three(message):
        if len(sent) == 3:
            raise JobTimeoutException("the job ran out of time")  # RQ's timeout, or a kill
        transmit(message)
        sent.append(message.id)

    with application.app_context():
        ids = results(8)
        monkeypatch.setattr(email_module, "_transmit", cut_off_after_three)
        with pytest.raises(JobTimeoutException):
            deliver_emails(ids)
        monkeypatch.setattr(email_module, "_transmit", transmit)
        smtp.wait_for(3)
        assert statuses() == {"sent": 3, "sending": 5}  # the rest are still claimed by the dead job
        assert outbox.stuck_email_ids() == []  # until the claim goes stale
        db.session.execute(
            update(EmailMessage)
            .where(EmailMessage.status == "sending")
            .values(updated_at=utcnow() - timedelta(seconds=application.config["MAIL_CLAIM_STALE_SECONDS"] + 5))
        )
        db.session.commit()
        assert outbox.retry_stuck_emails() == 5
        smtp.wait_for(8)
        time.sleep(0.2)
        assert statuses() == {"sent": 8}
        assert smtp.message_ids.keys() == message_ids()
    assert set(smtp.message_ids.values()) == {1}
