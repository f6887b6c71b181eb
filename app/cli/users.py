"""``flask users``: create, promote and demote admins; list, disable, enable and delete accounts."""

import click
from sqlalchemy import select

from app.accounts import services
from app.accounts.passwords import hash_password
from app.cli import CommandGroup, exit_on
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
@click.option("--yes", is_flag=True, help="Promote an existing account without asking.")
def create_admin(email: str, name: str, password: str | None, yes: bool) -> None:
    """Make EMAIL an admin, creating the account if it does not exist.

    An existing account is promoted only after a confirmation (or --yes); `flask users demote`
    undoes it.
    """
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
        if user.is_admin:
            click.echo(f"{user.email} (id {user.id}) is already an admin; nothing changed.")
            return
        if not yes:
            click.confirm(
                f"{user.email} ({user.name}, id {user.id}) already has an account. Make it an admin?", abort=True
            )
        created = False
    user.is_admin = True
    db.session.commit()
    record_admin_action("users create-admin", f"user:{user.id}", email=user.email, created=created)
    click.echo(f"{'Created' if created else 'Promoted'} admin {user.email} (id {user.id}).")


@users.command("demote")
@click.argument("email")
def demote(email: str) -> None:
    """Take admin rights away from EMAIL (the account stays, as a reader)."""
    user = _user_or_fail(email)
    if not user.is_admin:
        raise click.ClickException(f"{user.email} is not an admin")
    user.is_admin = False
    db.session.commit()
    record_admin_action("users demote", f"user:{user.id}", email=user.email)
    click.echo(f"{user.email} is no longer an admin.")


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
    """Let a disabled EMAIL log in again (undoes `flask users disable`)."""
    user = _user_or_fail(email)
    if not user.is_disabled:
        raise click.ClickException(f"{user.email} is not disabled")
    user.is_disabled = False
    db.session.commit()
    record_admin_action("users enable", f"user:{user.id}", email=user.email)
    click.echo(f"Enabled {user.email}.")


@users.command("delete")
@click.argument("email")
@click.option("--yes", is_flag=True, help="Delete without asking.")
def delete(email: str, yes: bool) -> None:
    """Delete EMAIL's account as the reader's own "Delete account" does.

    The row stays, anonymised, because orders, donations and contest results point at it: name,
    email, bio and the contents of their emails go; sessions, tokens and devices end. It cannot be
    undone.
    """
    user = _user_or_fail(email)
    address = user.email
    if not yes:
        click.confirm(f"Delete {user.email} ({user.name}, id {user.id})? This cannot be undone.", abort=True)
    with exit_on(services.AccountError):
        services.anonymise_account(user)
    # The audit log (admins only, on the host) keeps the address, as the command line it records does.
    record_admin_action("users delete", f"user:{user.id}", email=address)
    click.echo(f"Deleted the account {address} (id {user.id}); it is now {user.email}.")
