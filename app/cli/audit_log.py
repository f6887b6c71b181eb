"""``flask audit list``: read the audit log that changing admin commands write (``app/cli/audit.py``)."""

from datetime import UTC, datetime, time

import click
from sqlalchemy import select

from app.cli import CommandGroup
from app.extensions import db
from app.models import AuditEntry, User

audit = CommandGroup("audit", help="The audit log of admin commands.")


def _start_of(day: datetime) -> datetime:
    return datetime.combine(day.date(), time.min, tzinfo=UTC)


def _about_user(email_or_id: str) -> str:
    """The audit target of an account, from its email or its id (a deleted account keeps only its id)."""
    value = email_or_id.strip().lower()
    if value.isdigit():
        return f"user:{int(value)}"
    user_id = db.session.scalar(select(User.id).where(User.email == value))
    if user_id is None:
        raise click.ClickException(f"no user with email {value} (a deleted account is found by its id)")
    return f"user:{user_id}"


@audit.command("list")
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), help="Only from this day on (YYYY-MM-DD, UTC).")
@click.option(
    "--actor", help="Only what this OS account ran (the ACTOR column: commands run on the host, not by email)."
)
@click.option("--user", "about", metavar="EMAIL|ID", help="Only what was done to this account.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(min=1), help="At most this many rows.")
def list_entries(since: datetime | None, actor: str | None, about: str | None, limit: int) -> None:
    """The newest audit rows first: when, who ran it, the command, its target and what changed."""
    query = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
    if since:
        query = query.where(AuditEntry.at >= _start_of(since))
    if actor:
        query = query.where(AuditEntry.actor == actor.strip())
    if about:
        query = query.where(AuditEntry.target == _about_user(about))
    rows = db.session.scalars(query).all()
    if rows:
        click.echo(f"{'WHEN (UTC)':<19}  {'ACTOR':<12} {'COMMAND':<22} {'TARGET':<22} DETAILS")
    for entry in rows:
        click.echo(
            f"{entry.at:%Y-%m-%d %H:%M:%S}  {entry.actor:<12} {entry.command:<22} {entry.target:<22} "
            f"{_details(entry.details)}"
        )
    click.echo(f"{len(rows)} audit row(s).")


def _details(details: dict) -> str:
    # The command line and its parameters are long and repeat the command; show what it changed.
    shown = {key: value for key, value in (details or {}).items() if key not in ("command_line", "params")}
    text = ", ".join(f"{key}={value}" for key, value in shown.items())
    return text if len(text) <= 100 else text[:99] + "…"
