"""``flask db backup PATH`` and ``flask db restore PATH``: subcommands of Flask-Migrate's ``db`` group.

Flask loads the ``db`` group from Flask-Migrate's entry point before it looks at the app's own
commands, so a ``db`` group of ours would never be reached: the commands are added to that group
instead (``attach``), when the app registers its commands.
"""

from pathlib import Path

import click
from flask_migrate.cli import db as migrate_group

from app.backups import BackupError, Outcome, backup_database, restore_database
from app.cli import Command, exit_on


def _size(size_bytes: int) -> str:
    return f"{size_bytes / 1_000_000:.1f} MB" if size_bytes >= 100_000 else f"{size_bytes / 1000:.1f} kB"


def _describe(outcome: Outcome) -> str:
    revision = f", schema revision {outcome.revision}" if outcome.revision else ""
    return f"{outcome.tables} tables{revision}, {_size(outcome.size_bytes)}, {outcome.seconds:.2f} s"


@click.command("backup", cls=Command)
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def backup(path: Path) -> None:
    """Back up the database to PATH (SQLite: online copy; PostgreSQL: pg_dump custom format)."""
    with exit_on(BackupError):
        outcome = backup_database(path)
    click.echo(f"Backed up {outcome.kind} database {outcome.database} to {outcome.path} ({_describe(outcome)}).")


@click.command("restore", cls=Command)
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace the contents of a database that already has tables.")
def restore(path: Path, force: bool) -> None:
    """Restore the backup at PATH into the database (refuses one with tables, unless --force)."""
    with exit_on(BackupError):
        outcome = restore_database(path, force=force)
    click.echo(f"Restored {outcome.path} into {outcome.kind} database {outcome.database} ({_describe(outcome)}).")
    click.echo("Next: `flask db upgrade` if the code is newer than the backup, then start the app.")


def attach() -> None:
    """Add the commands to Flask-Migrate's ``db`` group (idempotent: the same names each time)."""
    migrate_group.add_command(backup)
    migrate_group.add_command(restore)
