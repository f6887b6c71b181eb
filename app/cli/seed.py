"""``flask seed demo``: demo data for the embedded default (safe to run again)."""

import click
from flask import current_app

from app.cli import CommandGroup
from app.cli.audit import record_admin_action
from app.seed import seed_demo

seed = CommandGroup("seed", help="Load demo data.")


@seed.command("demo")
@click.option("--force", is_flag=True, help="Seed even in production (demo accounts share a published password).")
def demo(force: bool) -> None:
    """Add demo readers, books, clubs and contests. Idempotent."""
    if current_app.config["ENV_NAME"] == "production" and not force:
        raise click.ClickException("refusing to seed demo accounts in production (use --force for a demo server)")
    summary = seed_demo()
    record_admin_action("seed demo", "demo-data", summary=summary)
    for line in summary:
        click.echo(line)
