"""The mail outbox: an email recorded in a transaction is sent once when it commits, never when it
rolls back, and whatever a crash leaves behind is sent once by the sweep (``flask mail retry``).

The embedded default (no Redis) delivers right after the commit; the Redis tests at the end
go through RQ workers. Sending is checked on the real SMTP server of tests/conftest.py.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from rq import Queue
from rq.registry import ScheduledJobRegistry
from sqlalchemy import select, update

from app import create_app
from app.extensions import db
from app.jobs import redis_connection, run_worker
from app.models import EmailMessage, User
from app.models.base import utcnow
from app.notifications import outbox
from app.notifications.email import _claim, record_email
from tests.conftest import make_config, reset_schema
from tests.helpers import make_user, register_user


def note(to: str, key: str | None = None) -> EmailMessage:
    """Record one email (in the current transaction, not committed)."""
    return record_email(
        key=key or f"note:{to}",
        template="password_changed",
        to=to,
        subject=f"A note for {to}",
        reset_link="http://localhost/auth/reset",
    )


def status_of(email_id: int) -> tuple[str, int]:
    db.session.expire_all()
    record = db.session.get(EmailMessage, email_id)
    return record.status, record.attempts


def age(email_id: int, seconds: int) -> None:
    """Make the row look as if it was last touched ``seconds`` ago."""
    db.session.execute(
        update(EmailMessage).where(EmailMessage.id == email_id).values(updated_at=utcnow() - timedelta(seconds=seconds))
    )
    db.session.commit()


@pytest.fixture
def crash_before_hand_over(monkeypatch):
    """The process dies after the commit and before the email is queued (or sent): the row is
    committed and nothing else happens."""
    monkeypatch.setattr(outbox, "hand_over", lambda ids: None)


# ---- After commit, once; never after a rollback ----------------------------------------------


def test_a_commit_sends_the_email_once(app_ctx, inbox):
    make_user(email="ada@example.com")
    user = db.session.scalar(select(User))
    user.name = "Ada Lovelace"
    note("ada@example.com")
    assert inbox.to("ada@example.com") == []  # recorded, not sent before the commit
    db.session.commit()
    assert len(inbox.wait_for("ada@example.com")) == 1
    assert db.session.scalar(select(User.name)) == "Ada Lovelace"

    user.name = "Ada King"  # a later commit in the same session sends nothing again
    db.session.commit()
    time.sleep(0.3)
    assert len(inbox.to("ada@example.com")) == 1
    assert db.session.scalar(select(EmailMessage.status)) == "sent"


def test_a_rollback_after_record_email_sends_nothing(app_ctx, inbox):
    note("gone@example.com")
    db.session.rollback()
    make_user(email="later@example.com")  # the next transaction commits: still nothing for gone@
    db.session.commit()
    time.sleep(0.3)
    assert inbox.to("gone@example.com") == []
    assert db.session.scalar(select(EmailMessage)) is None


def test_an_email_in_a_rolled_back_savepoint_is_not_sent_but_the_rest_is(app_ctx, inbox):
    note("kept@example.com")
    savepoint = db.session.begin_nested()
    note("undone@example.com")
    savepoint.rollback()
    with db.session.begin_nested():  # a released savepoint's email goes with the transaction
        note("nested@example.com")
    db.session.commit()
    assert len(inbox.wait_for("kept@example.com")) == 1
    assert len(inbox.wait_for("nested@example.com")) == 1
    time.sleep(0.3)
    assert inbox.to("undone@example.com") == []
    assert sorted(db.session.scalars(select(EmailMessage.recipient))) == ["kept@example.com", "nested@example.com"]


def test_a_service_sends_its_email_with_no_dispatch_call(app, client, inbox):
    """Registration records the email and commits; the outbox does the sending."""
    register_user(client, email="nina@example.com")
    assert inbox.wait_for("nina@example.com")[0]["Subject"] == "Confirm your email for Book Commerce"


# ---- The sweep and `flask mail retry` (kill -9 simulations) -----------------------------------


def test_a_row_left_sending_by_a_killed_worker_is_sent_once_by_flask_mail_retry(app, inbox, crash_before_hand_over):
    with app.app_context():
        email_id = note("claimed@example.com").id
        db.session.commit()
        assert _claim(email_id)  # a worker claimed it... and was killed with SIGKILL
        assert status_of(email_id) == ("sending", 1)

    runner = app.test_cli_runner()
    fresh = runner.invoke(args=["mail", "retry"])  # a claim younger than the stale limit is left alone
    assert fresh.exit_code == 0 and "Sent 0 of 0 email(s)." in fresh.output, fresh.output
    with app.app_context():
        age(email_id, app.config["MAIL_CLAIM_STALE_SECONDS"] + 5)

    result = runner.invoke(args=["mail", "retry"])
    assert result.exit_code == 0 and "Sent 1 of 1 email(s)." in result.output, result.output
    assert len(inbox.wait_for("claimed@example.com")) == 1
    again = runner.invoke(args=["mail", "retry"])
    assert "Sent 0 of 0 email(s)." in again.output
    time.sleep(0.3)
    assert len(inbox.to("claimed@example.com")) == 1
    with app.app_context():
        assert status_of(email_id) == ("sent", 2)


def test_a_pending_row_with_no_job_is_sent_once_by_the_sweep(app_ctx, inbox, crash_before_hand_over):
    old = note("old@example.com").id
    recent = note("recent@example.com").id
    db.session.commit()
    age(old, app_ctx.config["MAIL_SWEEP_AFTER_SECONDS"] + 5)
    time.sleep(0.3)
    assert inbox.messages == []  # the crash: committed, never sent

    assert outbox.stuck_email_ids() == [old]  # a fresh row may still have its job on the way
    assert outbox.retry_stuck_emails() == 1
    assert len(inbox.wait_for("old@example.com")) == 1
    assert outbox.retry_stuck_emails() == 0
    assert inbox.to("recent@example.com") == []
    assert status_of(old) == ("sent", 1) and status_of(recent) == ("pending", 0)


def test_failed_emails_are_retried_while_attempts_are_left(app_ctx, inbox):
    inbox.refuse_next = 1  # the SMTP server says "try again later" once
    email_id = note("busy@example.com").id
    db.session.commit()
    assert status_of(email_id) == ("failed", 1)
    spent_id = note("spent@example.com").id
    db.session.execute(
        update(EmailMessage).where(EmailMessage.id == spent_id).values(status="failed", attempts=6, last_error="x")
    )
    db.session.commit()
    age(email_id, app_ctx.config["MAIL_SWEEP_AFTER_SECONDS"] + 5)
    age(spent_id, app_ctx.config["MAIL_SWEEP_AFTER_SECONDS"] + 5)
    inbox.clear()

    assert outbox.retry_stuck_emails() == 1  # MAIL_MAX_ATTEMPTS (6) used up: left for an admin
    assert len(inbox.wait_for("busy@example.com")) == 1
    assert status_of(email_id) == ("sent", 2)
    assert inbox.to("spent@example.com") == []


def test_flask_mail_retry_by_id_sends_one_that_ran_out_of_attempts_with_the_same_message_id(app, inbox):
    inbox.refuse_next = 1
    with app.app_context():
        email = note("again@example.com")
        db.session.commit()
        email_id, message_id = email.id, email.message_id
        assert status_of(email_id) == ("failed", 1)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["mail", "retry", "--id", str(email_id)])
    assert result.exit_code == 0 and "Sent 1 of 1 email(s)." in result.output, result.output
    (received,) = inbox.wait_for("again@example.com")
    assert received["Message-ID"] == message_id  # a retry carries the Message-ID it was given
    missing = runner.invoke(args=["mail", "retry", "--id", "999"])
    assert missing.exit_code == 1 and "no email 999" in missing.output


def test_flask_mail_list_shows_the_outbox_by_status(app, inbox, crash_before_hand_over):
    with app.app_context():
        pending = note("waiting@example.com").id
        failed = note("refused@example.com").id
        sent = note("done@example.com").id
        db.session.commit()
        db.session.execute(
            update(EmailMessage)
            .where(EmailMessage.id == failed)
            .values(status="failed", attempts=2, last_error="SMTPDataError: 451 Mailbox busy\ntraceback")
        )
        db.session.execute(update(EmailMessage).where(EmailMessage.id == sent).values(status="sent", attempts=1))
        db.session.commit()
    runner = app.test_cli_runner()

    unsent = runner.invoke(args=["mail", "list"])
    assert unsent.exit_code == 0
    lines = unsent.output.strip().splitlines()
    assert lines[-1] == "2 email(s)."
    assert lines[0].startswith(f"#{failed} ") and "failed" in lines[0] and " 2×" in lines[0]
    assert "refused@example.com" in lines[0] and "(SMTPDataError: 451 Mailbox busy)" in lines[0]
    assert lines[1].startswith(f"#{pending} ") and "pending" in lines[1] and "waiting@example.com" in lines[1]

    only_pending = runner.invoke(args=["mail", "list", "--status", "pending"]).output
    assert "waiting@example.com" in only_pending and "refused@" not in only_pending
    assert only_pending.strip().endswith("1 email(s).")
    only_sent = runner.invoke(args=["mail", "list", "--status", "sent"]).output
    assert "done@example.com" in only_sent and "waiting@" not in only_sent

    bad = runner.invoke(args=["mail", "list", "--status", "lost"])
    assert bad.exit_code == 1


# ---- Message-IDs ----------------------------------------------------------------------------


def test_message_ids_are_unique_across_databases_and_carry_the_mail_domain(app, base_settings, tmp_path, inbox):
    other = create_app(
        make_config(
            **{
                **base_settings,
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'other.db'}",
                "MAIL_DOMAIN": "mail.example.org",
            }
        )
    )
    with other.app_context():
        reset_schema()
        first_there = note("remote@example.com")
        db.session.commit()
        there = (first_there.id, first_there.message_id)
    with app.app_context():
        first_here = note("local@example.com")
        db.session.commit()
        here = (first_here.id, first_here.message_id)

    assert here[0] == there[0] == 1  # the same row id in each database...
    assert here[1] != there[1]  # ...but not the same Message-ID
    assert there[1].startswith("<") and there[1].endswith("@mail.example.org>")
    # Without MAIL_DOMAIN, the domain of the sender address.
    assert here[1].endswith("@bookcommerce.local>")
    assert inbox.wait_for("local@example.com")[0]["Message-ID"] == here[1]
    assert inbox.wait_for("remote@example.com")[0]["Message-ID"] == there[1]


# ---- With Redis: the queue, a failed enqueue, the periodic sweep -------------------------------


@pytest.mark.redis
def test_redis_a_failed_enqueue_after_commit_is_recovered_by_the_sweep(redis_app, inbox, monkeypatch, caplog):
    def enqueue_crashes(*args, **kwargs):
        raise RuntimeError("the process died here")

    monkeypatch.setattr(outbox, "queue_jobs", enqueue_crashes)
    client = redis_app.test_client()
    response = register_user(client, email="lost@example.com")
    assert response.status_code == 303  # the request succeeded: the email is committed
    assert "could not queue email(s)" in caplog.text
    with redis_app.app_context():
        assert Queue("mail", connection=redis_connection()).count == 0
        email_id = db.session.scalar(select(EmailMessage.id))
        assert status_of(email_id) == ("pending", 0)
    run_worker(redis_app, ["mail"], burst=True)
    assert inbox.to("lost@example.com") == []

    monkeypatch.undo()
    with redis_app.app_context():
        age(email_id, redis_app.config["MAIL_SWEEP_AFTER_SECONDS"] + 5)
        assert outbox.retry_stuck_emails() == 1
        assert outbox.retry_stuck_emails() == 1  # queued twice before the worker runs...
    run_worker(redis_app, ["mail"], burst=True)
    assert len(inbox.wait_for("lost@example.com")) == 1
    time.sleep(0.3)
    assert len(inbox.to("lost@example.com")) == 1  # ...and sent once
    with redis_app.app_context():
        assert status_of(email_id) == ("sent", 1)


@pytest.mark.redis
def test_redis_the_worker_keeps_a_periodic_sweep_scheduled(redis_app, inbox, crash_before_hand_over):
    redis_app.config.update(MAIL_SWEEP_INTERVAL_SECONDS=1, MAIL_SWEEP_AFTER_SECONDS=0)
    with redis_app.app_context():
        note("swept@example.com")
        db.session.commit()
        registry = ScheduledJobRegistry(queue=Queue("mail", connection=redis_connection()))
        now = time.time()
        first = outbox.schedule_sweep(now)
        assert outbox.schedule_sweep(now + 0.001) == first  # the same slot: one job, however many ask
        assert [j for j in registry.get_job_ids() if j.startswith("mail-sweep-")] == [first]
    time.sleep(1.2)  # the slot is due
    run_worker(redis_app, ["mail"], burst=True)  # the scheduler queues the sweep; it queues the email
    assert len(inbox.wait_for("swept@example.com")) == 1
    with redis_app.app_context():
        later = [job_id for job_id in registry.get_job_ids() if job_id.startswith("mail-sweep-")]
        assert later and all(int(j.rsplit("-", 1)[1]) > int(first.rsplit("-", 1)[1]) for j in later)
