"""``flask mail``: look at the outbox, send again what a crash or a failure held back, prune old bodies."""

import click
from flask import current_app
from sqlalchemy import select

from app.cli import CommandGroup
from app.cli.audit import record_admin_action
from app.extensions import db
from app.models import EmailMessage
from app.notifications.outbox import retry_emails, stuck_email_ids
from app.notifications.retention import prune_email_bodies

mail = CommandGroup("mail", help="The email outbox.")

STATUSES = [
    EmailMessage.STATUS_PENDING,
    EmailMessage.STATUS_SENDING,
    EmailMessage.STATUS_FAILED,
    EmailMessage.STATUS_SENT,
]


@mail.command("list")
@click.option("--status", type=click.Choice(STATUSES), help="Only emails in this state (default: all unsent).")
@click.option("--limit", default=50, show_default=True)
def list_emails(status: str | None, limit: int) -> None:
    """The newest emails in the outbox."""
    query = select(EmailMessage).order_by(EmailMessage.id.desc()).limit(limit)
    if status:
        query = query.where(EmailMessage.status == status)
    else:
        query = query.where(EmailMessage.status != EmailMessage.STATUS_SENT)
    rows = db.session.scalars(query).all()
    for email in rows:
        line = (
            f"#{email.id:<6} {email.updated_at:%Y-%m-%d %H:%M}  {email.status:<8} {email.attempts:>2}×  "
            f"{email.template:<20} {email.recipient}"
        )
        if email.status == EmailMessage.STATUS_FAILED and email.last_error:
            line += f"  ({email.last_error.splitlines()[0][:80]})"
        click.echo(line)
    click.echo(f"{len(rows)} email(s).")


@mail.command("retry")
@click.option(
    "--id", "email_ids", type=int, multiple=True, help="This unsent email now, whatever its age (repeatable)."
)
def retry(email_ids: tuple[int, ...]) -> None:
    """Send again the emails left behind (what the worker's sweep does), or the given ones."""
    if email_ids:
        found = dict(
            db.session.execute(select(EmailMessage.id, EmailMessage.status).where(EmailMessage.id.in_(email_ids))).all()
        )
        missing = [i for i in email_ids if i not in found]
        if missing:
            raise click.ClickException(f"no email {missing[0]}")
        ids = [i for i in dict.fromkeys(email_ids) if found[i] != EmailMessage.STATUS_SENT]
        db.session.rollback()
    else:
        ids = stuck_email_ids()
    count = retry_emails(ids)
    for email_id in ids:
        record_admin_action("mail retry", f"email:{email_id}")
    if current_app.config.get("REDIS_URL"):
        click.echo(f"Re-queued {count} email(s).")
        return
    sent = (
        db.session.scalar(
            select(db.func.count(EmailMessage.id)).where(
                EmailMessage.id.in_(ids), EmailMessage.status == EmailMessage.STATUS_SENT
            )
        )
        if ids
        else 0
    )
    click.echo(f"Sent {sent} of {count} email(s).")


@mail.command("prune")
@click.option(
    "--days",
    type=click.IntRange(min=1),
    help="Keep the bodies of emails sent in the last DAYS days (default: EMAIL_BODY_RETENTION_DAYS).",
)
def prune(days: int | None) -> None:
    """Blank the bodies of emails sent longer ago than the retention (the daily job does the same)."""
    pruned = prune_email_bodies(days=days)
    record_admin_action("mail prune", f"emails sent before {pruned.before:%Y-%m-%d %H:%M}", emails=pruned.emails)
    click.echo(
        f"Blanked the bodies of {pruned.emails} email(s) sent before {pruned.before:%Y-%m-%d %H:%M} UTC;"
        f" deleted {pruned.files} outbox file(s). Their records stay."
    )
