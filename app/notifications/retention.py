"""Retention: the bodies of sent emails are kept EMAIL_BODY_RETENTION_DAYS days, then blanked.

What an email said is personal data we need only while it may be resent or questioned; the record
that it was sent (recipient, subject, template, status, attempts, sent time, Message-ID) stays for
good. Attachments are built at send time and never stored; the ``.eml`` copies the embedded
default writes to OUTBOX_DIR are bodies too, so old ones are deleted with them.

Only sent emails are pruned: a pending or failed one still needs its body to be sent. Payment
events, orders, donations and the fund ledger are never pruned (docs/operations.md).

A worker serving the mail queue schedules ``prune_job`` once a day (as it does the outbox sweep);
without Redis, cron runs ``flask mail prune``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import select, update

from app.extensions import db
from app.jobs import schedule_in_slot
from app.models import EmailMessage
from app.models.base import utcnow

log = logging.getLogger(__name__)

PRUNE_INTERVAL_SECONDS = 24 * 3600  # once a day, at midnight UTC
BATCH = 500  # rows per transaction: short write locks, even on SQLite


@dataclass(frozen=True)
class Pruned:
    emails: int  # bodies blanked
    files: int  # .eml copies deleted from OUTBOX_DIR
    before: datetime  # what was sent before this was pruned


def prune_email_bodies(now: datetime | None = None, days: int | None = None) -> Pruned:
    """Blank the bodies of emails sent more than ``days`` (default EMAIL_BODY_RETENTION_DAYS) ago,
    and delete OUTBOX_DIR's ``.eml`` files as old. Idempotent: a second run finds nothing."""
    days = current_app.config["EMAIL_BODY_RETENTION_DAYS"] if days is None else days
    if days < 1:
        raise ValueError("the retention must be at least one day")
    before = (now or utcnow()) - timedelta(days=days)
    emails = 0
    while True:
        ids = db.session.scalars(
            select(EmailMessage.id)
            .where(
                EmailMessage.status == EmailMessage.STATUS_SENT,
                EmailMessage.sent_at < before,
                (EmailMessage.body_text != "") | (EmailMessage.body_html != ""),
            )
            .order_by(EmailMessage.id)
            .limit(BATCH)
        ).all()
        if not ids:
            break
        # The status is checked again in the update: a row is only ever blanked once it is sent.
        db.session.execute(
            update(EmailMessage)
            .where(EmailMessage.id.in_(ids), EmailMessage.status == EmailMessage.STATUS_SENT)
            .values(body_text="", body_html=""),
            execution_options={"synchronize_session": False},
        )
        db.session.commit()
        emails += len(ids)
    db.session.rollback()  # end the last read
    files = _prune_outbox_files(before)
    if emails or files:
        log.info("retention: blanked %d email bod(ies) and %d outbox file(s) sent before %s", emails, files, before)
    return Pruned(emails, files, before)


def _prune_outbox_files(before: datetime) -> int:
    outbox = Path(current_app.config["OUTBOX_DIR"])
    if not outbox.is_dir():
        return 0
    cutoff = before.timestamp()
    removed = 0
    for path in outbox.glob("*.eml"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:  # another pruner got there first
            continue
    return removed


def prune_job() -> int:
    """The daily job on RQ: prune, then schedule tomorrow's run."""
    try:
        return prune_email_bodies().emails
    finally:
        schedule_pruning()


def schedule_pruning(now: float | None = None) -> str | None:
    """Schedule the next daily prune on the mail queue (RQ's scheduler runs it; needs Redis).

    As with the outbox sweep, the job id names its day, so every worker that starts and every run
    that reschedules make one job for that day, not one each.
    """
    # If it cannot be scheduled, the log says so; `flask mail prune` does the same by hand.
    return schedule_in_slot(
        prune_job,
        "mail-prune",
        PRUNE_INTERVAL_SECONDS,
        now=now,
        result_ttl=7 * PRUNE_INTERVAL_SECONDS,
        failure_ttl=30 * PRUNE_INTERVAL_SECONDS,
    )
