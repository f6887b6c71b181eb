"""``flask seed demo``: demo data for the embedded default (safe to run again)."""

import click

from app.cli import CommandGroup
from app.seed import seed_demo

seed = CommandGroup("seed", help="Load demo data.")


@seed.command("demo")
def demo() -> None:
    """Add the demo readers (and, as features land, their books and clubs). Idempotent."""
    summary = seed_demo()
    for line in summary:
        click.echo(line)
