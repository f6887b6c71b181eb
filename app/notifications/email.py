"""Emails: rendered and recorded once under an idempotency key, delivered by a job.

A service records the email in the same transaction as the change it reports, commits, then
calls ``dispatch``. ``deliver_email`` locks the record and sends only if it is not sent yet,
so a retried or duplicated job sends one message.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

from flask import current_app, render_template
from flask_mail import Message
from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError

from app.extensions import db, mail
from app.jobs import enqueue
from app.models import EmailMessage, User
from app.models.base import utcnow
from app.notifications.inbox import notify_for_email

log = logging.getLogger(__name__)


def record_email(
    *,
    key: str,
    template: str,
    to: str,
    subject: str,
    user: User | None = None,
    **context,
) -> EmailMessage:
    """Render ``templates/email/<template>.{txt,html}`` and record it under ``key`` (once).

    Does not commit: the caller commits with its own change, then calls ``dispatch``.
    """
    existing = db.session.scalar(select(EmailMessage).where(EmailMessage.idempotency_key == key))
    if existing is not None:
        return existing
    context.setdefault("user", user)
    message = EmailMessage(
        idempotency_key=key,
        template=template,
        recipient=to,
        subject=subject,
        user_id=user.id if user is not None else None,
        body_text=render_template(f"email/{template}.txt", **context),
        body_html=render_template(f"email/{template}.html", subject=subject, **context),
    )
    try:
        with db.session.begin_nested():
            db.session.add(message)
            notify_for_email(template, key, user, subject, context)
    except IntegrityError:
        # Another request recorded the same key first: theirs is the one that counts.
        return db.session.scalars(select(EmailMessage).where(EmailMessage.idempotency_key == key)).one()
    return message


def record_emails(messages: list[dict]) -> list[EmailMessage]:
    """Record many emails at once (e.g. contest results): one lookup for keys already recorded,
    one flush. The caller holds a lock that keeps the same keys from being recorded concurrently."""
    if not messages:
        return []
    keys = [m["key"] for m in messages]
    existing = {
        m.idempotency_key: m
        for chunk in (keys[i : i + 500] for i in range(0, len(keys), 500))
        for m in db.session.scalars(select(EmailMessage).where(EmailMessage.idempotency_key.in_(chunk)))
    }
    recorded = []
    for fields in messages:
        if fields["key"] in existing:
            recorded.append(existing[fields["key"]])
            continue
        context = dict(fields)
        key, template, to, subject = (context.pop(k) for k in ("key", "template", "to", "subject"))
        user = context.get("user")
        message = EmailMessage(
            idempotency_key=key,
            template=template,
            recipient=to,
            subject=subject,
            user_id=user.id if user is not None else None,
            body_text=render_template(f"email/{template}.txt", **context),
            body_html=render_template(f"email/{template}.html", subject=subject, **context),
        )
        db.session.add(message)
        notify_for_email(template, key, user, subject, context)
        recorded.append(message)
    db.session.flush()
    return recorded


def dispatch(message: EmailMessage) -> None:
    """Hand a committed email to the mail queue (or send it now on the embedded default)."""
    if message.status != EmailMessage.STATUS_SENT:
        enqueue(deliver_email, message.id, queue="mail")


def send_email(**kwargs) -> EmailMessage:
    """Record, commit and dispatch an email that goes with no other change."""
    message = record_email(**kwargs)
    db.session.commit()
    dispatch(message)
    return message


class DeliveryInProgress(Exception):
    """Another worker is sending this email right now; retry later (it will be sent, or reclaimed)."""


def _claim(email_id: int) -> bool:
    """Mark the email as being sent, atomically: of two workers, only one gets it.

    A conditional UPDATE works the same on PostgreSQL and SQLite (which has no row locks). A claim
    older than MAIL_CLAIM_STALE_SECONDS is taken to be from a worker that died mid-send.
    """
    stale = utcnow() - timedelta(seconds=current_app.config["MAIL_CLAIM_STALE_SECONDS"])
    claimable = or_(
        EmailMessage.status.in_((EmailMessage.STATUS_PENDING, EmailMessage.STATUS_FAILED)),
        and_(EmailMessage.status == EmailMessage.STATUS_SENDING, EmailMessage.updated_at < stale),
    )
    claimed = db.session.execute(
        update(EmailMessage)
        .where(EmailMessage.id == email_id, claimable)
        .values(status=EmailMessage.STATUS_SENDING, attempts=EmailMessage.attempts + 1, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return claimed == 1


def deliver_email(email_id: int) -> str:
    """The mail job: send the recorded email unless it was sent already. Raises to be retried."""
    if not _claim(email_id):
        message = db.session.get(EmailMessage, email_id, populate_existing=True)
        if message is None:
            return "missing"
        if message.status == EmailMessage.STATUS_SENT:
            return "already sent"
        raise DeliveryInProgress(f"email {email_id} is being sent by another worker")
    message = db.session.get(EmailMessage, email_id, populate_existing=True)
    try:
        _transmit(message)
    except Exception as exc:
        message.status = EmailMessage.STATUS_FAILED
        message.last_error = f"{type(exc).__name__}: {exc}"[:1000]
        db.session.commit()
        raise
    message.status = EmailMessage.STATUS_SENT
    message.sent_at = utcnow()
    message.last_error = None
    db.session.commit()
    return "sent"


def _transmit(message: EmailMessage) -> None:
    msg = Message(
        subject=message.subject,
        recipients=[message.recipient],
        body=message.body_text,
        html=message.body_html,
        sender=current_app.config["MAIL_DEFAULT_SENDER"],
    )
    msg.msgId = message.message_id
    if current_app.config.get("MAIL_SERVER"):
        mail.send(msg)
        log.info("email %s sent to %s: %s", message.id, message.recipient, message.subject)
        return
    outbox = Path(current_app.config["OUTBOX_DIR"])
    outbox.mkdir(parents=True, exist_ok=True)
    path = outbox / f"{message.id:06d}-{message.template}.eml"
    path.write_bytes(msg.as_bytes())
    log.info("email %s to %s: %s (no MAIL_SERVER; written to %s)", message.id, message.recipient, message.subject, path)
