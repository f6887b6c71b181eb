"""Jobs on the real Redis with RQ workers: retries, idempotent email, failed-job commands."""

import pytest
from rq import Queue
from sqlalchemy import select

from app.extensions import db
from app.jobs import enqueue, redis_connection, run_worker
from app.models import EmailMessage
from app.notifications.email import deliver_email, send_email
from tests.helpers import register_user
from tests.jobs.tasks import always_fails, flaky

pytestmark = pytest.mark.redis


def work(application, queues=("default", "mail"), simple=True):
    run_worker(application, list(queues), burst=True, simple=simple)


def test_registration_email_waits_for_the_worker(redis_app, inbox):
    register_user(redis_app.test_client(), email="queued@example.com")
    with redis_app.app_context():
        assert Queue("mail", connection=redis_connection()).count == 1
    assert inbox.to("queued@example.com") == []
    work(redis_app)
    assert inbox.wait_for("queued@example.com")[0]["Subject"] == "Confirm your email for Book Commerce"


def test_a_forking_worker_runs_jobs_with_fresh_database_connections(redis_app, inbox):
    register_user(redis_app.test_client(), email="forked@example.com")
    work(redis_app, simple=False)
    inbox.wait_for("forked@example.com")
    with redis_app.app_context():
        assert db.session.scalar(select(EmailMessage.status)) == "sent"


def test_a_failing_job_is_retried_until_it_succeeds(redis_app):
    with redis_app.app_context():
        enqueue(flaky, "retry-me", 2)
    work(redis_app)
    with redis_app.app_context():
        assert redis_connection().get("test:done:retry-me") == b"3"


def test_mail_refused_by_the_server_is_retried_and_sent_once(redis_app, inbox):
    inbox.refuse_next = 1
    register_user(redis_app.test_client(), email="busy@example.com")
    work(redis_app)
    assert len(inbox.wait_for("busy@example.com")) == 1
    with redis_app.app_context():
        message = db.session.scalar(select(EmailMessage))
        assert (message.status, message.attempts, message.last_error) == ("sent", 2, None)


def test_the_same_email_job_run_twice_sends_one_message(redis_app, inbox):
    with redis_app.app_context():
        message = send_email(
            key="once",
            template="password_changed",
            to="twice@example.com",
            subject="Hello once",
            user=None,
            reset_link="http://x/reset",
        )
        enqueue(deliver_email, message.id, queue="mail")  # a duplicate delivery job
        assert Queue("mail", connection=redis_connection()).count == 2
    work(redis_app)
    assert len(inbox.wait_for("twice@example.com")) == 1
    with redis_app.app_context():
        assert deliver_email(message.id) == "already sent"
    assert len(inbox.to("twice@example.com")) == 1


def test_recording_the_same_key_twice_keeps_one_email(redis_app, inbox):
    with redis_app.app_context():
        first = send_email(key="dup", template="password_changed", to="dup@example.com", subject="S", reset_link="x")
        second = send_email(key="dup", template="password_changed", to="dup@example.com", subject="S", reset_link="x")
        assert first.id == second.id
    work(redis_app)
    assert len(inbox.wait_for("dup@example.com")) == 1


def test_failed_jobs_are_listed_and_requeued_from_the_cli(redis_app):
    with redis_app.app_context():
        job = enqueue(always_fails)
    work(redis_app)
    runner = redis_app.test_cli_runner()
    listed = runner.invoke(args=["jobs", "failed"])
    assert listed.exit_code == 0, listed.output
    assert job.id in listed.output and "this job never works" in listed.output
    assert "1 failed job(s)." in listed.output

    requeued = runner.invoke(args=["jobs", "requeue", job.id])
    assert requeued.exit_code == 0 and "Requeued 1 job(s)." in requeued.output
    with redis_app.app_context():
        assert Queue("default", connection=redis_connection()).count == 1
    work(redis_app)
    again = runner.invoke(args=["jobs", "requeue", "--all"])
    assert "Requeued 1 job(s)." in again.output

    missing = runner.invoke(args=["jobs", "requeue", "no-such-job"])
    assert missing.exit_code == 1 and "no failed job with id no-such-job" in missing.output
    both = runner.invoke(args=["jobs", "requeue"])
    assert both.exit_code == 1


def test_login_limits_are_kept_in_redis(redis_app):
    client = redis_app.test_client()
    for _ in range(5):
        client.post("/auth/login", data={"email": "x@example.com", "password": "wrong-password"})
    assert client.post("/auth/login", data={"email": "x@example.com", "password": "wrong-password"}).status_code == 429
    with redis_app.app_context():
        assert any(b"login-account" in key for key in redis_connection().keys("LIMITS*"))


def test_readyz_checks_redis(redis_app):
    response = redis_app.test_client().get("/readyz")
    assert response.status_code == 200
    assert response.get_json()["checks"] == {"database": "ok", "redis": "ok"}
