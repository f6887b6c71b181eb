"""``flask users``: create admins, list and disable accounts."""

import click
from sqlalchemy import select

from app.accounts import services
from app.accounts.passwords import hash_password
from app.cli import CommandGroup
from app.cli.audit import record_admin_action
from app.extensions import db
from app.models import User
from app.models.base import utcnow

users = CommandGroup("users", help="Manage reader and admin accounts.")


def _user_or_fail(email: str) -> User:
    user = services.find_user_by_email(email)
    if user is None:
        raise click.ClickException(f"no user with email {email.strip().lower()}")
    return user


@users.command("create-admin")
@click.argument("email")
@click.option("--name", default="Admin", show_default=True)
@click.option("--password", envvar="ADMIN_PASSWORD", help="Only for a new account; prompted if not given.")
def create_admin(email: str, name: str, password: str | None) -> None:
    """Make EMAIL an admin, creating the account if it does not exist."""
    email = services.normalise_email(email)
    if "@" not in email or len(email) > 254:
        raise click.ClickException(f"not an email address: {email!r}")
    user = services.find_user_by_email(email)
    if user is None:
        if password is None:
            password = click.prompt("Password for the new admin", hide_input=True, confirmation_prompt=True)
        if len(password) < 10:
            raise click.ClickException("the password needs at least 10 characters")
        user = User(email=email, name=name, password_hash=hash_password(password), email_verified_at=utcnow())
        db.session.add(user)
        created = True
    else:
        created = False
    user.is_admin = True
    db.session.commit()
    record_admin_action("users create-admin", f"user:{user.id}", email=user.email, created=created)
    click.echo(f"{'Created' if created else 'Promoted'} admin {user.email} (id {user.id}).")


@users.command("list")
@click.option("--admins", is_flag=True, help="Only admins.")
def list_users(admins: bool) -> None:
    """List accounts: id, email, name, flags."""
    query = select(User).where(User.deleted_at.is_(None)).order_by(User.id)
    if admins:
        query = query.where(User.is_admin.is_(True))
    rows = db.session.scalars(query).all()
    for user in rows:
        flags = ",".join(
            f
            for f, on in (("admin", user.is_admin), ("verified", user.is_verified), ("disabled", user.is_disabled))
            if on
        )
        click.echo(f"{user.id:>6}  {user.email:<40} {user.name:<24} {flags}")
    click.echo(f"{len(rows)} user(s).")


@users.command("disable")
@click.argument("email")
def disable(email: str) -> None:
    """Stop EMAIL from logging in and end their sessions."""
    user = _user_or_fail(email)
    user.is_disabled = True
    db.session.commit()
    services.end_all_sessions(user)
    record_admin_action("users disable", f"user:{user.id}", email=user.email)
    click.echo(f"Disabled {user.email}; their sessions are ended.")


@users.command("enable")
@click.argument("email")
def enable(email: str) -> None:
    """Let a disabled EMAIL log in again."""
    user = _user_or_fail(email)
    user.is_disabled = False
    db.session.commit()
    record_admin_action("users enable", f"user:{user.id}", email=user.email)
    click.echo(f"Enabled {user.email}.")
