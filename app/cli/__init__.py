"""Admin commands, one module per group:
``flask users|seed|jobs|mail|books|orders|contests|clubs|audit|shipping|tax|discounts ...``,
plus ``flask db backup|restore`` (app/cli/backup.py) in Flask-Migrate's ``db`` group."""

from collections.abc import Iterator
from contextlib import contextmanager

import click
from flask import Flask
from flask.cli import AppGroup


@contextmanager
def _usage_errors_exit_1() -> Iterator[None]:
    """Bad arguments exit with status 1 (click's own is 2), as every admin command promises."""
    try:
        yield
    except click.UsageError as exc:
        exc.exit_code = 1
        raise


@contextmanager
def exit_on(*errors: type[Exception]) -> Iterator[None]:
    """A service's refusal ends the command with status 1 and the refusal's own message."""
    try:
        yield
    except errors as exc:
        raise click.ClickException(str(exc)) from exc


class Command(click.Command):
    """A command whose bad arguments exit with status 1 and a one-line message."""

    def make_context(self, *args, **kwargs):
        with _usage_errors_exit_1():
            return super().make_context(*args, **kwargs)


class CommandGroup(AppGroup):
    command_class = Command

    def make_context(self, *args, **kwargs):
        with _usage_errors_exit_1():
            return super().make_context(*args, **kwargs)

    def resolve_command(self, ctx, args):
        with _usage_errors_exit_1():
            return super().resolve_command(ctx, args)


def register(app: Flask) -> None:
    from app.cli import backup
    from app.cli.audit_log import audit
    from app.cli.books import books
    from app.cli.clubs import clubs
    from app.cli.contests import contests
    from app.cli.discounts import discounts
    from app.cli.jobs import jobs
    from app.cli.mail import mail
    from app.cli.orders import orders
    from app.cli.seed import seed
    from app.cli.shipping import shipping
    from app.cli.tax import tax
    from app.cli.users import users

    for group in (users, seed, jobs, mail, books, orders, contests, clubs, audit, shipping, tax, discounts):
        app.cli.add_command(group)
    backup.attach()
