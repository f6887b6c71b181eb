"""Retention: the bodies of emails sent longer ago than EMAIL_BODY_RETENTION_DAYS are blanked by a
daily job (and ``flask mail prune``); the record of what was sent stays, and the money's records
(payment events, the fund ledger) are never touched."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rq.registry import ScheduledJobRegistry
from sqlalchemy import select, update

from app import create_app
from app.extensions import db
from app.jobs import get_queue, run_worker
from app.models import EmailMessage, FundEntry, PaymentEvent
from app.models.base import utcnow
from app.notifications.retention import PRUNE_INTERVAL_SECONDS, prune_email_bodies, prune_job, schedule_pruning
from config import ConfigError
from tests.conftest import make_config
from tests.helpers import make_user
from tests.payments.money import open_club, pay, pending_donation, refund

ROOT = Path(__file__).resolve().parents[2]
DONOR = "dan@example.com"
RECORD = ("recipient", "subject", "template", "status", "attempts", "sent_at", "message_id", "idempotency_key")


def given_and_refunded() -> None:
    """A donor gives $25 (receipt), $5 of it is refunded (an email), a second gift of $10: payment
    events, fund ledger lines and sent emails, all through the services."""
    club = open_club()
    donor = make_user(email=DONOR, name="Dan Donor")
    first = pending_donation(club, donor, 2500)
    pay(first)
    refund(first, 500)
    pay(pending_donation(club, donor, 1000))


def emails() -> dict[int, EmailMessage]:
    db.session.expire_all()
    return {e.id: e for e in db.session.scalars(select(EmailMessage))}


def rows(model) -> list[tuple]:
    """Every column of every row, in id order: what 'untouched' is compared on."""
    db.session.expire_all()
    columns = [c.key for c in model.__table__.columns]
    return [tuple(getattr(r, c) for c in columns) for r in db.session.scalars(select(model).order_by(model.id))]


def sent_days_ago(days: float, email_ids=None) -> None:
    query = update(EmailMessage).where(EmailMessage.status == EmailMessage.STATUS_SENT)
    if email_ids is not None:
        query = query.where(EmailMessage.id.in_(email_ids))
    db.session.execute(query.values(sent_at=utcnow() - timedelta(days=days)))
    db.session.commit()


def test_bodies_of_old_sent_emails_are_blanked_and_their_records_kept(app_ctx, inbox):
    given_and_refunded()
    inbox.wait_for(DONOR, count=3)
    before = emails()
    assert len(before) >= 4 and all(e.status == "sent" and e.body_text and e.body_html for e in before.values())
    events, ledger = rows(PaymentEvent), rows(FundEntry)
    assert len(events) >= 3 and len(ledger) == 3  # two credits and a reversal

    # The first two emails were sent long ago.
    old, recent = sorted(before)[:2], sorted(before)[2:]
    sent_days_ago(91, old)
    # A failed email (attempts used up) and a pending one, as old: unsent, they keep their bodies.
    unsent = {recent[0]: "failed", recent[1]: "pending"}
    for email_id, status in unsent.items():
        db.session.execute(
            update(EmailMessage)
            .where(EmailMessage.id == email_id)
            .values(status=status, sent_at=None, created_at=utcnow() - timedelta(days=200))
        )
    db.session.commit()
    before = emails()
    records = {i: tuple(getattr(e, c) for c in RECORD) for i, e in before.items()}

    pruned = prune_email_bodies()
    assert pruned.emails == len(old)

    after = emails()
    assert {i for i, e in after.items() if e.body_text == "" and e.body_html == ""} == set(old)
    assert all(after[i].body_text == before[i].body_text and after[i].body_html for i in recent)
    assert {i: tuple(getattr(e, c) for c in RECORD) for i, e in after.items()} == records  # who, what, when
    assert rows(PaymentEvent) == events and rows(FundEntry) == ledger  # money's records are never pruned
    assert prune_email_bodies().emails == 0  # nothing left to do the second time


def test_the_retention_is_the_setting_in_days(app, base_settings, inbox):
    with app.app_context():
        given_and_refunded()
        inbox.wait_for(DONOR, count=3)
        sent_days_ago(8)
        assert prune_email_bodies().emails == 0  # the default keeps 90 days
    week = create_app(make_config(**base_settings, EMAIL_BODY_RETENTION_DAYS=7))
    with week.app_context():
        assert prune_email_bodies().emails == len(emails()) >= 3
        assert prune_email_bodies(now=utcnow() + timedelta(days=3650)).emails == 0


def test_the_retention_is_read_from_the_environment_and_must_be_a_day_or_more():
    def setting(value: str | None) -> str:
        env = {k: v for k, v in os.environ.items() if k != "EMAIL_BODY_RETENTION_DAYS"}
        if value is not None:
            env["EMAIL_BODY_RETENTION_DAYS"] = value
        code = "import config; print(config.Config.EMAIL_BODY_RETENTION_DAYS)"
        return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True).stdout

    assert (setting("30"), setting(None)) == ("30\n", "90\n")
    with pytest.raises(ConfigError, match="EMAIL_BODY_RETENTION_DAYS is 0; give at least 1 day"):
        create_app(make_config(EMAIL_BODY_RETENTION_DAYS=0))


def test_old_copies_in_the_outbox_folder_are_deleted_with_them(app, base_settings, tmp_path):
    outbox_dir = tmp_path / "outbox"
    no_smtp = create_app(make_config(**{**base_settings, "MAIL_SERVER": None, "OUTBOX_DIR": str(outbox_dir)}))
    with no_smtp.app_context():
        given_and_refunded()
        copies = sorted(outbox_dir.glob("*.eml"))
        assert len(copies) >= 3 and all(
            b"Dan Donor" in p.read_bytes() or DONOR.encode() in p.read_bytes() for p in copies
        )
        old = copies[:2]
        long_ago = time.time() - 100 * 86400
        for path in old:
            os.utime(path, (long_ago, long_ago))
        sent_days_ago(100)

        pruned = prune_email_bodies()

        assert pruned.files == 2 and sorted(outbox_dir.glob("*.eml")) == copies[2:]
        assert pruned.emails == len(copies)


def test_flask_mail_prune_reports_what_it_blanked(app, inbox):
    with app.app_context():
        given_and_refunded()
        inbox.wait_for(DONOR, count=3)
        sent_days_ago(200)
        count = len(emails())
    runner = app.test_cli_runner()
    kept = runner.invoke(args=["mail", "prune", "--days", "365"])
    assert kept.exit_code == 0 and "Blanked the bodies of 0 email(s)" in kept.output
    done = runner.invoke(args=["mail", "prune"])
    assert done.exit_code == 0, done.output
    assert f"Blanked the bodies of {count} email(s) sent before" in done.output and "Their records stay." in done.output
    with app.app_context():
        assert all(e.body_text == "" == e.body_html and e.recipient for e in emails().values())
    bad = runner.invoke(args=["mail", "prune", "--days", "0"])
    assert bad.exit_code == 1 and "0 is not in the range x>=1" in bad.output


@pytest.mark.redis
def test_redis_a_mail_worker_keeps_the_daily_prune_scheduled(redis_app, inbox):
    with redis_app.app_context():
        given_and_refunded()  # the emails wait on the mail queue
    run_worker(redis_app, ["mail"], burst=True)  # sends them; starting a mail worker schedules the prune
    inbox.wait_for(DONOR, count=3)
    with redis_app.app_context():
        sent_days_ago(100)
        registry = ScheduledJobRegistry(queue=get_queue("mail"))
        scheduled = [j for j in registry.get_job_ids() if j.startswith("mail-prune-")]
        tomorrow = int(time.time() // PRUNE_INTERVAL_SECONDS) + 1
        assert scheduled == [f"mail-prune-{tomorrow}"]  # at the next midnight UTC, once
        assert schedule_pruning() == scheduled[0] and len(registry.get_job_ids()) == len(set(registry.get_job_ids()))
        midnight = datetime.fromtimestamp(registry.get_scheduled_time(scheduled[0]).timestamp(), UTC)
        assert (midnight.hour, midnight.minute, midnight.second) == (0, 0, 0)

        assert prune_job() >= 3  # what the job does when its time comes: prune, and book the next day
        assert all(e.body_text == "" for e in emails().values())
        assert [j for j in registry.get_job_ids() if j.startswith("mail-prune-")] == scheduled
