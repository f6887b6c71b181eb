"""Emails: rendered and recorded once under an idempotency key, delivered by a job.

A service calls ``record_email`` in the same transaction as the change the email reports and
commits; nothing else. The outbox (``app.notifications.outbox``) hands the committed email to
the mail queue, or delivers it at once on the embedded default, and its sweep picks up any
email a crash left behind. ``deliver_email`` claims the record and sends only if it is not sent
yet, so a retried or duplicated job sends one message.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import timedelta
from email.utils import parseaddr
from pathlib import Path
from urllib.parse import urlsplit

from flask import current_app, render_template
from flask_mail import Message
from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError

from app.extensions import db, mail
from app.models import EmailMessage, User
from app.models.base import utcnow
from app.notifications.inbox import notify_for_email

log = logging.getLogger(__name__)

# Attachments built at send time, per template (e.g. the invoice PDF on the receipt): a recorded
# email stays small, and a retry attaches the same document again.
Attachment = tuple[str, str, bytes]  # filename, content type, data
_attachments: dict[str, Callable[[EmailMessage], list[Attachment]]] = {}


def attach_to(template: str, build: Callable[[EmailMessage], list[Attachment]]) -> None:
    """Have every ``template`` email carry what ``build(message)`` returns when it is sent."""
    _attachments[template] = build


def attachments_for(message: EmailMessage) -> list[Attachment]:
    build = _attachments.get(message.template)
    return build(message) if build is not None else []


def mail_domain() -> str:
    """The domain our Message-IDs end in: MAIL_DOMAIN, else the sender's, else BASE_URL's host."""
    config = current_app.config
    sender_domain = parseaddr(config.get("MAIL_DEFAULT_SENDER") or "")[1].rpartition("@")[2]
    return config.get("MAIL_DOMAIN") or sender_domain or urlsplit(config["BASE_URL"]).hostname or "localhost"


def new_message_id() -> str:
    """A Message-ID unique across databases and deployments (a random part), in our mail domain.

    Stored with the email, so every retry of one email carries the same Message-ID and a
    receiving server can drop a rare duplicate delivery.
    """
    return f"<{uuid.uuid4().hex}@{mail_domain()}>"


def _new_email(*, key: str, template: str, to: str, subject: str, user: User | None, context: dict) -> EmailMessage:
    return EmailMessage(
        idempotency_key=key,
        message_id=new_message_id(),
        template=template,
        recipient=to,
        subject=subject,
        user_id=user.id if user is not None else None,
        body_text=render_template(f"email/{template}.txt", **context),
        body_html=render_template(f"email/{template}.html", subject=subject, **context),
    )


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

    Does not commit: the email goes out when the caller's transaction commits (and never if it
    rolls back).
    """
    existing = db.session.scalar(select(EmailMessage).where(EmailMessage.idempotency_key == key))
    if existing is not None:
        return existing
    context.setdefault("user", user)
    message = _new_email(key=key, template=template, to=to, subject=subject, user=user, context=context)
    _begin_transaction_for_savepoint()
    try:
        with db.session.begin_nested():
            db.session.add(message)
            notify_for_email(template, key, user, subject, context)
    except IntegrityError:
        # Another request recorded the same key first: theirs is the one that counts.
        return db.session.scalars(select(EmailMessage).where(EmailMessage.idempotency_key == key)).one()
    return message


def _begin_transaction_for_savepoint() -> None:
    """On SQLite, open the transaction before the savepoint. pysqlite begins one only before a
    write, so a SAVEPOINT as the first write would start the transaction itself and its RELEASE
    would commit it: the email would survive the caller's rollback."""
    connection = db.session.connection()
    if connection.dialect.name == "sqlite" and not connection.connection.dbapi_connection.in_transaction:
        connection.exec_driver_sql("BEGIN")


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
        message = _new_email(key=key, template=template, to=to, subject=subject, user=user, context=context)
        db.session.add(message)
        notify_for_email(template, key, user, subject, context)
        recorded.append(message)
    db.session.flush()
    return recorded


def send_email(**kwargs) -> EmailMessage:
    """Record and commit an email that goes with no other change (the outbox sends it)."""
    message = record_email(**kwargs)
    db.session.commit()
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
    for filename, content_type, data in attachments_for(message):
        msg.attach(filename, content_type, data)
    if current_app.config.get("MAIL_SERVER"):
        mail.send(msg)
        log.info("email %s sent to %s: %s", message.id, message.recipient, message.subject)
        return
    outbox = Path(current_app.config["OUTBOX_DIR"])
    outbox.mkdir(parents=True, exist_ok=True)
    path = outbox / f"{message.id:06d}-{message.template}.eml"
    path.write_bytes(msg.as_bytes())
    log.info("email %s to %s: %s (no MAIL_SERVER; written to %s)", message.id, message.recipient, message.subject, path)
