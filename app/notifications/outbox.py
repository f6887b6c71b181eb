"""The mail outbox: an email recorded in a transaction goes out when, and only if, it commits.

``record_email`` adds an ``EmailMessage`` row in the caller's transaction; nothing else at the
call site. Session hooks do the rest, in one place:

- at each flush, the ids of new email rows are noted with the savepoint they were flushed in;
- a rollback (of the transaction, or of the savepoint) forgets the ids it undid;
- when the outermost transaction has committed and ended, the ids are handed to the mail queue,
  or, without Redis, delivered at once in a fresh app context (its own session and transaction,
  outside the commit that triggered them).

A crash can still come between the commit and the queue (or kill a worker mid-send). The row
is the record of what must be sent, so ``retry_stuck_emails`` (a job the worker schedules every
MAIL_SWEEP_INTERVAL_SECONDS, and ``flask mail retry``) re-queues what was left behind: pending
rows older than MAIL_SWEEP_AFTER_SECONDS, failed ones with attempts left, and claims older than
MAIL_CLAIM_STALE_SECONDS. Delivery claims each row, so a second job for an email sends nothing.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import redis
from flask import Flask, current_app
from sqlalchemy import and_, event, or_, select
from sqlalchemy.orm import Session, SessionTransaction

from app.breakers import breakers
from app.extensions import db
from app.jobs import queue_jobs, redis_connection, schedule_in_slot
from app.models import EmailMessage
from app.models.base import utcnow
from app.notifications.email import deliver_emails
from app.observability.request_id import bound_request_id, current_request_id

log = logging.getLogger(__name__)

REDIS_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)

_NOTED = "outbox_noted"  # session.info: [(savepoint or transaction, email id), ...]
_COMMITTED = "outbox_committed"  # session.info: ids whose transaction committed, to hand over


def install_outbox() -> None:
    """Attach the hooks to the app's session (once; the session is shared by every app)."""
    for name, hook in (
        ("after_flush", _note_new_emails),
        ("after_soft_rollback", _forget_rolled_back),
        ("after_commit", _take_committed),
        ("after_transaction_end", _hand_over_committed),
    ):
        if not event.contains(db.session, name, hook):
            event.listen(db.session, name, hook)


def _note_new_emails(session: Session, flush_context) -> None:  # noqa: ANN001 - SQLAlchemy's signature
    # Still "new" here (the hook runs before the session's bookkeeping), and ids are assigned.
    emails = [obj for obj in session.new if isinstance(obj, EmailMessage)]
    if emails:
        scope = session.get_nested_transaction() or session.get_transaction()
        session.info.setdefault(_NOTED, []).extend((scope, email.id) for email in emails)


def note_emails(email_ids: list[int]) -> None:
    """Emails inserted without the ORM (``app.bulk_insert``): handed over after the commit, or
    forgotten on a rollback, exactly as the ones a flush inserts."""
    session = db.session()
    scope = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(_NOTED, []).extend((scope, email_id) for email_id in email_ids)


def _within(transaction: SessionTransaction | None, ancestor: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False


def _forget_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    noted = session.info.get(_NOTED)
    if not noted:
        return
    # What the database undid: the savepoint (or the whole transaction) this rollback ended.
    undone = previous_transaction
    while not (undone.nested or undone.parent is None):
        undone = undone.parent
    session.info[_NOTED] = [(scope, email_id) for scope, email_id in noted if not _within(scope, undone)]


def _take_committed(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint released: the outer transaction may still roll back
    noted = session.info.pop(_NOTED, None)
    if noted:
        session.info.setdefault(_COMMITTED, []).extend(dict.fromkeys(email_id for _, email_id in noted))


def _hand_over_committed(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is not None:
        return
    session.info.pop(_NOTED, None)  # the transaction ended without a commit: nothing to send
    committed = session.info.pop(_COMMITTED, None)
    if committed:
        hand_over(committed)


def hand_over(email_ids: list[int]) -> None:
    """Queue committed emails for the mail worker, or deliver them now without Redis.

    Never raises: the change they report is committed already. An email that cannot be queued
    stays pending in its table, where the sweep finds it.
    """
    app = current_app._get_current_object()
    if redis_connection(app) is not None:
        try:
            queue_deliveries(email_ids)
            return
        except REDIS_DOWN as exc:
            log.warning("could not queue email(s) %s (%s): delivering them here", email_ids, exc)
        except Exception:
            log.exception("could not queue email(s) %s: they wait in the outbox for the sweep", email_ids)
            return
    _deliver_apart(app, email_ids)


def batches(email_ids: list[int]) -> list[list[int]]:
    """The ids in delivery batches of MAIL_BATCH_SIZE: each batch is one job, one SMTP connection."""
    size = current_app.config["MAIL_BATCH_SIZE"]
    return [email_ids[i : i + size] for i in range(0, len(email_ids), size)]


def queue_deliveries(email_ids: list[int]) -> None:
    """One mail job per batch (a commit's emails, or MAIL_BATCH_SIZE of them), all queued in one
    Redis round trip. Raises when Redis cannot take them."""
    queue_jobs(deliver_emails, [(batch,) for batch in batches(email_ids)], queue="mail")


def _deliver_apart(app: Flask, email_ids: list[int]) -> None:
    """Deliver in a fresh app context: a session of its own, so nothing runs inside the commit
    (or the transaction) of the request or job that recorded the emails."""
    request_id = current_request_id()
    with app.app_context(), bound_request_id(request_id):
        _deliver_logged(email_ids)


def _deliver_logged(email_ids: list[int]) -> None:
    for batch in batches(email_ids):
        try:
            deliver_emails(batch)
        except Exception:
            db.session.rollback()
            log.exception("email(s) %s not all delivered; they stay in the outbox for a retry", batch)


# ---- The sweep -------------------------------------------------------------------------------


def stuck_email_ids(now: datetime | None = None) -> list[int]:
    """Emails a crash or a failure left behind: pending or failed for a while (attempts left),
    or claimed by a worker whose claim has gone stale."""
    config = current_app.config
    now = now or utcnow()
    waited = now - timedelta(seconds=config["MAIL_SWEEP_AFTER_SECONDS"])
    stale_claim = now - timedelta(seconds=config["MAIL_CLAIM_STALE_SECONDS"])
    ids = db.session.scalars(
        select(EmailMessage.id)
        .where(
            EmailMessage.attempts < config["MAIL_MAX_ATTEMPTS"],
            or_(
                and_(
                    EmailMessage.status.in_((EmailMessage.STATUS_PENDING, EmailMessage.STATUS_FAILED)),
                    EmailMessage.updated_at < waited,
                ),
                and_(EmailMessage.status == EmailMessage.STATUS_SENDING, EmailMessage.updated_at < stale_claim),
            ),
        )
        .order_by(EmailMessage.id)
    ).all()
    db.session.rollback()  # end the read: no transaction held while sending
    return list(ids)


def troubled_emails(now: datetime | None = None, limit: int = 50) -> list[EmailMessage]:
    """What an admin should look at, newest first: every failed email (attempts left or not),
    pending ones older than the sweep's wait, and claims gone stale (a worker died mid-send)."""
    config = current_app.config
    now = now or utcnow()
    waited = now - timedelta(seconds=config["MAIL_SWEEP_AFTER_SECONDS"])
    stale_claim = now - timedelta(seconds=config["MAIL_CLAIM_STALE_SECONDS"])
    return list(
        db.session.scalars(
            select(EmailMessage)
            .where(
                or_(
                    EmailMessage.status == EmailMessage.STATUS_FAILED,
                    and_(EmailMessage.status == EmailMessage.STATUS_PENDING, EmailMessage.updated_at < waited),
                    and_(EmailMessage.status == EmailMessage.STATUS_SENDING, EmailMessage.updated_at < stale_claim),
                )
            )
            .order_by(EmailMessage.id.desc())
            .limit(limit)
        )
    )


def retry_emails(email_ids: list[int]) -> int:
    """Queue (or, without Redis, deliver) these emails again; the claim keeps each one to a
    single send. Returns how many were handed over."""
    if not email_ids:
        return 0
    if redis_connection() is not None:
        try:
            queue_deliveries(email_ids)
            return len(email_ids)
        except REDIS_DOWN as exc:
            log.warning("could not queue the outbox sweep's emails (%s): delivering them here", exc)
    _deliver_logged(email_ids)
    return len(email_ids)


def retry_stuck_emails() -> int:
    """The sweep: hand over every stuck email again. Returns how many.

    Not while the "smtp" circuit breaker refuses calls (app/breakers.py): its jobs would only
    release the emails again. The first sweep after its cool-down makes the trial call.
    """
    if breakers().is_refusing("smtp"):
        log.info("outbox sweep: the smtp circuit breaker is open; stuck emails wait for the next sweep")
        return 0
    count = retry_emails(stuck_email_ids())
    if count:
        log.info("outbox sweep: %d stuck email(s) handed over again", count)
    return count


def sweep_job() -> int:
    """The periodic job on RQ: sweep, then schedule the next sweep."""
    try:
        return retry_stuck_emails()
    finally:
        schedule_sweep()


def schedule_sweep(now: float | None = None) -> str | None:
    """Schedule the next sweep on the mail queue (RQ's scheduler runs it; needs Redis).

    Its job id names its time slot, so workers and sweeps that schedule the same next slot
    make one job, not one each.
    """
    interval = current_app.config["MAIL_SWEEP_INTERVAL_SECONDS"]
    # If it cannot be scheduled, the log says so; `flask mail retry` does the same by hand.
    return schedule_in_slot(sweep_job, "mail-sweep", interval, now=now, result_ttl=10 * interval, failure_ttl=24 * 3600)
