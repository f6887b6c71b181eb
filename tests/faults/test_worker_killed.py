"""A worker killed with SIGKILL in the middle of a job: the job is requeued and runs to the end once.

A real ``flask jobs worker`` (a forking RQ Worker) runs in its own process group; the test kills
the whole group (worker and work-horse, as the OOM killer or ``docker kill`` would) while the job
sits between claiming an email and sending it. The job is then left in RQ's StartedJobRegistry;
the registry's cleanup (what another worker's maintenance does) puts it back on the queue since it
has retries left, and a second worker sends the email: exactly one message arrives.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rq import Queue
from rq.registry import StartedJobRegistry
from sqlalchemy import select

from app.extensions import db
from app.jobs import enqueue, redis_connection, run_worker
from app.models import EmailMessage
from app.notifications import outbox
from app.notifications.email import record_email
from tests.faults.tasks import IN_FLIGHT_KEY, deliver_email_slowly

pytestmark = [pytest.mark.redis, pytest.mark.smtp]

ROOT = Path(__file__).resolve().parents[2]
STALE_CLAIM_SECONDS = 1


def worker_process(application) -> subprocess.Popen:
    """``flask jobs worker --queue mail`` with the test's database, Redis and SMTP server."""
    config = application.config
    env = {
        **os.environ,
        "APP_ENV": "testing",
        "FLASK_APP": "wsgi:app",
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": config["SQLALCHEMY_DATABASE_URI"],
        "REDIS_URL": config["REDIS_URL"],
        "MAIL_SERVER": config["MAIL_SERVER"],
        "MAIL_PORT": str(config["MAIL_PORT"]),
        "MAIL_CLAIM_STALE_SECONDS": str(STALE_CLAIM_SECONDS),
    }
    flask = Path(sys.executable).with_name("flask")
    return subprocess.Popen(
        [str(flask), "jobs", "worker", "--queue", "mail"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: one killpg takes worker and work-horse
    )


def wait_until(condition, timeout: float, what: str, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the worker exited ({process.returncode}) before {what}:\n{process.stdout.read()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        time.sleep(0.05)


def test_a_job_cut_off_by_sigkill_is_requeued_and_sends_one_email(redis_app, inbox, monkeypatch):
    redis_app.config["MAIL_CLAIM_STALE_SECONDS"] = STALE_CLAIM_SECONDS
    monkeypatch.setattr(outbox, "hand_over", lambda ids: None)  # only the slow job below delivers it
    with redis_app.app_context():
        message = record_email(
            key="sigkill",
            template="password_changed",
            to="killed@example.com",
            subject="Still delivered",
            reset_link="http://localhost/reset",
        )
        db.session.commit()
        email_id = message.id
        job = enqueue(deliver_email_slowly, email_id, 60, queue="mail")
        connection = redis_connection()
        queue = Queue("mail", connection=connection)

    worker = worker_process(redis_app)
    try:
        wait_until(lambda: connection.get(IN_FLIGHT_KEY) is not None, 30, "the job claimed the email", worker)
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:  # pragma: no cover - only if the test failed before the kill
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)

    # Killed mid-job: nothing was sent, the email is claimed by a worker that no longer exists and
    # RQ still lists the job as started.
    time.sleep(0.5)
    assert inbox.to("killed@example.com") == []
    registry = StartedJobRegistry(queue=queue)
    assert job.id in registry.get_job_ids()
    with redis_app.app_context():
        record = db.session.get(EmailMessage, email_id)
        assert (record.status, record.attempts) == ("sending", 1)

    # What a surviving worker's maintenance does once the job's time is up: retries remain, so
    # the job goes back on the queue rather than to the failed registry.
    registry.cleanup(timestamp=time.time() + 24 * 3600)
    assert job.id not in registry.get_job_ids()
    assert job.get_status(refresh=True) in ("queued", "scheduled")

    time.sleep(STALE_CLAIM_SECONDS + 0.2)  # the dead worker's claim on the email goes stale
    run_worker(redis_app, ["mail"], burst=True)  # a second, forking worker

    assert len(inbox.wait_for("killed@example.com")) == 1
    assert job.get_status(refresh=True) == "finished"
    with redis_app.app_context():
        record = db.session.scalar(select(EmailMessage).where(EmailMessage.id == email_id))
        assert (record.status, record.attempts, record.last_error) == ("sent", 2, None)
    time.sleep(0.5)
    assert len(inbox.to("killed@example.com")) == 1  # once, not once per attempt


def test_an_email_whose_job_died_with_the_worker_is_sent_once_by_the_sweep(redis_app, inbox, monkeypatch):
    """The same kill, but the job is gone for good (no retries left, as after a last attempt):
    RQ gives up on it, and the email would stay "sending" for ever. The outbox sweep finds the
    stale claim and sends it once."""
    redis_app.config.update(MAIL_CLAIM_STALE_SECONDS=STALE_CLAIM_SECONDS)
    monkeypatch.setattr(outbox, "hand_over", lambda ids: None)  # only the slow job below delivers it
    with redis_app.app_context():
        message = record_email(
            key="sigkill-lost",
            template="password_changed",
            to="abandoned@example.com",
            subject="Delivered by the sweep",
            reset_link="http://localhost/reset",
        )
        db.session.commit()
        email_id, message_id = message.id, message.message_id
        job = enqueue(deliver_email_slowly, email_id, 60, queue="mail", retry=False)
        connection = redis_connection()
        queue = Queue("mail", connection=connection)

    worker = worker_process(redis_app)
    try:
        wait_until(lambda: connection.get(IN_FLIGHT_KEY) is not None, 30, "the job claimed the email", worker)
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:  # pragma: no cover - only if the test failed before the kill
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)

    StartedJobRegistry(queue=queue).cleanup(timestamp=time.time() + 24 * 3600)
    assert job.get_status(refresh=True) == "failed"  # abandoned: RQ will not run it again
    time.sleep(STALE_CLAIM_SECONDS + 0.2)
    with redis_app.app_context():
        assert db.session.get(EmailMessage, email_id).status == "sending"

    result = redis_app.test_cli_runner().invoke(args=["mail", "retry"])
    assert result.exit_code == 0 and "Re-queued 1 email(s)." in result.output, result.output
    run_worker(redis_app, ["mail"], burst=True)

    (received,) = inbox.wait_for("abandoned@example.com")
    assert received["Message-ID"] == message_id
    time.sleep(0.5)
    assert len(inbox.to("abandoned@example.com")) == 1
    with redis_app.app_context():
        record = db.session.scalar(select(EmailMessage).where(EmailMessage.id == email_id))
        assert (record.status, record.attempts) == ("sent", 2)
