"""The restore drill (docs/operations.md): a shop with orders, donations and a contest is backed up
with ``flask db backup``, restored with ``flask db restore`` into a fresh database, and every total,
ledger balance, row and row count matches. On SQLite also while the app keeps writing; on
PostgreSQL (CI, where DATABASE_URL points there) with pg_dump and pg_restore."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import closing
from pathlib import Path

import pytest
from flask_migrate.cli import db as migrate_group
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import URL

from app import create_app
from app.donations.fund import fund_balance
from app.extensions import db
from app.models import Club, Donation, FundEntry, User
from tests.cli.busy_shop import build_busy_shop, every_row, money_figures
from tests.conftest import database_is_postgres, make_config, need, reset_schema
from tests.donations import assert_running_balance
from tests.helpers import make_user
from tests.payments.money import open_club, pay, pending_donation

ROOT = Path(__file__).resolve().parents[2]
LEDGER = "id, kind, amount_cents, balance_after_cents"


def flask_db(app, *args: str):
    """``flask db ARGS`` against ``app`` (Flask-Migrate's group, with our subcommands attached)."""
    return app.test_cli_runner().invoke(migrate_group, list(args))


def sqlite_app(base_settings, path):
    return create_app(make_config(**{**base_settings, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"}))


@pytest.fixture(scope="module")
def migrated_template(base_settings, tmp_path_factory):
    """An empty SQLite database built by the migrations once; each test starts from a copy."""
    path = tmp_path_factory.mktemp("template") / "migrated.db"
    with sqlite_app(base_settings, path).app_context():
        reset_schema()
        db.engine.dispose()
    return path


@pytest.fixture
def source(base_settings, migrated_template, tmp_path):
    """The app on a SQLite file of its own (whatever DATABASE_URL says), schema made, no rows."""
    shutil.copy(migrated_template, tmp_path / "shop.db")
    return sqlite_app(base_settings, tmp_path / "shop.db")


def figures_and_rows(app) -> tuple[dict, dict]:
    with app.app_context():
        return money_figures(), every_row()


def assert_same_shop(source, restored) -> None:
    figures, rows = figures_and_rows(source)
    assert len(figures["orders"]) == 4 and len(figures["donations"]) == 4 and figures["contests"]
    assert figures["clubs"] and all(balance == last for balance, _, last in figures["clubs"].values())
    assert any(refunded for *_, refunded, _, _ in figures["orders"].values())  # a refund is part of the drill
    restored_figures, restored_rows = figures_and_rows(restored)
    assert restored_figures == figures
    assert restored_rows["(row counts)"] == rows["(row counts)"]
    for table, table_rows in rows.items():
        assert restored_rows[table] == table_rows, table


def test_the_restore_drill_on_sqlite(source, base_settings, tmp_path, inbox):
    build_busy_shop(source)

    backed_up = flask_db(source, "backup", str(tmp_path / "shop.backup"))
    assert backed_up.exit_code == 0, backed_up.output
    assert f"Backed up sqlite database {tmp_path / 'shop.db'} to {tmp_path / 'shop.backup'}" in backed_up.output

    fresh = sqlite_app(base_settings, tmp_path / "fresh.db")
    restored = flask_db(fresh, "restore", str(tmp_path / "shop.backup"))
    assert restored.exit_code == 0, restored.output
    assert "Restored" in restored.output and "schema revision" in restored.output
    assert_same_shop(source, fresh)

    again = flask_db(fresh, "restore", str(tmp_path / "shop.backup"))
    assert again.exit_code == 1 and "the target database is not empty" in again.output and "--force" in again.output


def test_the_commands_are_in_flask_db_on_the_command_line(source, base_settings, tmp_path):
    """Through the real ``flask`` entry point, where Flask-Migrate's group is loaded before the app
    (restore is attached the same way)."""
    with source.app_context():
        make_user(email="cli@example.com")
    env = {key: value for key, value in os.environ.items() if key not in ("SECRET_KEY", "INSTANCE_PATH")}
    env.update(APP_ENV="development", FLASK_APP="wsgi:app", REDIS_URL="", INSTANCE_PATH=str(tmp_path / "instance"))

    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'shop.db'}")

    backed_up = subprocess.run(
        [sys.executable, "-m", "flask", "db", "backup", str(tmp_path / "cli.backup")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )

    assert backed_up.returncode == 0, backed_up.stderr[-2000:]
    assert "Backed up sqlite database" in backed_up.stdout
    with closing(sqlite3.connect(tmp_path / "cli.backup")) as copy:
        assert copy.execute("SELECT email FROM users").fetchall() == [("cli@example.com",)]


def test_restore_with_force_replaces_what_the_database_held(source, base_settings, tmp_path, inbox):
    with source.app_context():
        make_user(email="kept@example.com")
    assert flask_db(source, "backup", str(tmp_path / "shop.backup")).exit_code == 0
    with source.app_context():
        make_user(email="after-the-backup@example.com")
        db.session.execute(text("CREATE TABLE scratch (x INTEGER)"))
        db.session.commit()

    forced = flask_db(source, "restore", "--force", str(tmp_path / "shop.backup"))

    assert forced.exit_code == 0, forced.output
    with source.app_context():
        assert db.session.scalars(select(User.email)).all() == ["kept@example.com"]
        assert db.session.execute(text("SELECT name FROM sqlite_master WHERE name = 'scratch'")).first() is None


def test_bad_paths_and_files_are_refused_in_one_line(source, base_settings, tmp_path):
    fresh = sqlite_app(base_settings, tmp_path / "fresh.db")
    (tmp_path / "notes.txt").write_text("not a database")
    assert flask_db(source, "backup", str(tmp_path / "good.backup")).exit_code == 0
    nowhere = sqlite_app(base_settings, tmp_path / "gone" / "x.db")
    cases = [
        (nowhere, ("restore", str(tmp_path / "good.backup")), "gone does not exist"),
        (source, ("backup", str(tmp_path / "missing-dir" / "x.backup")), "missing-dir does not exist"),
        (fresh, ("restore", str(tmp_path / "nowhere.backup")), "no backup file at"),
        (fresh, ("restore", str(tmp_path / "notes.txt")), "is not a SQLite backup"),
    ]
    for target, args, message in cases:
        result = flask_db(target, *args)
        assert result.exit_code == 1 and message in result.output, (args, result.output)
        assert result.output.count("\n") == 1
    assert not (tmp_path / "fresh.db").exists() or not (tmp_path / "fresh.db").stat().st_size


def test_a_sqlite_backup_taken_while_the_app_writes_is_a_consistent_snapshot(source, base_settings, tmp_path, inbox):
    with source.app_context():
        club_id = open_club().id
        donor_id = make_user(email="steady@example.com", name="Steady Giver").id

    stop, written, errors = threading.Event(), [], []

    def keep_giving():
        # Each gift commits its payment and its ledger credit in one transaction (the webhook's).
        with source.app_context():
            cents = 100
            while not stop.is_set():
                try:
                    pay(pending_donation(db.session.get(Club, club_id), db.session.get(User, donor_id), cents))
                    written.append(cents)
                except Exception as exc:  # noqa: BLE001 - any failure of a write is what this test looks for
                    errors.append(repr(exc))
                    return
                cents += 1

    writer = threading.Thread(target=keep_giving)
    writer.start()
    backups = []
    try:
        while len(written) < 3:
            time.sleep(0.05)
        overlapped = 0  # backups during which a gift was committed
        while len(backups) < 3 or (not overlapped and len(backups) < 30):
            counted = len(written)
            path = tmp_path / f"busy-{len(backups)}.backup"
            result = flask_db(source, "backup", str(path))
            assert result.exit_code == 0, result.output
            overlapped += len(written) > counted
            backups.append((path, counted))
    finally:
        stop.set()
        writer.join(timeout=60)
    assert errors == [] and not writer.is_alive() and overlapped

    with source.app_context():
        ledger = db.session.execute(
            select(FundEntry.id, FundEntry.kind, FundEntry.amount_cents, FundEntry.balance_after_cents).order_by(
                FundEntry.id
            )
        ).all()
    assert len(ledger) == len(written) > backups[-1][1]  # the app went on writing after the last backup
    for path, at_least in backups:
        with closing(sqlite3.connect(path)) as copy:
            copied = copy.execute(
                "SELECT id, kind, amount_cents, balance_after_cents FROM fund_entries ORDER BY id"
            ).fetchall()
            paid = copy.execute("SELECT id, amount_cents FROM donations WHERE status = 'paid' ORDER BY id").fetchall()
            credited = copy.execute("SELECT donation_id, amount_cents FROM fund_entries ORDER BY id").fetchall()
        assert at_least <= len(copied) <= len(ledger)
        assert copied == [tuple(row) for row in ledger[: len(copied)]]  # the source's ledger as it was then
        assert paid == credited  # every gift with its credit, none half-written
        assert_running_balance([(kind, amount, after) for _, kind, amount, after in copied])

    fresh = sqlite_app(base_settings, tmp_path / "fresh.db")
    assert flask_db(fresh, "restore", str(backups[-1][0])).exit_code == 0
    with fresh.app_context():
        restored_ledger = db.session.execute(
            select(FundEntry.id, FundEntry.kind, FundEntry.amount_cents, FundEntry.balance_after_cents).order_by(
                FundEntry.id
            )
        ).all()
        paid_in = db.session.scalar(select(db.func.sum(Donation.amount_cents)).where(Donation.status == "paid"))
        assert fund_balance(club_id) == paid_in == sum(row[2] for row in restored_ledger)
    assert [tuple(r) for r in restored_ledger] == [tuple(r) for r in ledger[: len(restored_ledger)]]


def empty_postgres_database(url: URL) -> URL:
    """A database of our own next to the test one (``<name>_restore``), made once and emptied each
    time: dropping a database forces a checkpoint, most of a minute on a busy machine."""
    target = url.set(database=f"{url.database}_restore")
    server = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        known = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": target.database})
        if known.first() is None:
            conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    server.dispose()
    inside = create_engine(target, isolation_level="AUTOCOMMIT")
    with inside.connect() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    inside.dispose()
    return target


def test_the_restore_drill_on_postgresql(app, base_settings, tmp_path, inbox):
    need("PostgreSQL", database_is_postgres(app), "set DATABASE_URL=postgresql://... to run the drill on PostgreSQL")
    with app.app_context():
        url = db.engine.url
    target = empty_postgres_database(url)
    fresh = create_app(
        make_config(**{**base_settings, "SQLALCHEMY_DATABASE_URI": target.render_as_string(hide_password=False)})
    )
    try:
        build_busy_shop(app)
        dump = tmp_path / "shop.dump"
        backed_up = flask_db(app, "backup", str(dump))
        assert backed_up.exit_code == 0, backed_up.output
        assert f"Backed up postgresql database {url.database} to {dump}" in backed_up.output

        restored = flask_db(fresh, "restore", str(dump))
        assert restored.exit_code == 0, restored.output
        assert_same_shop(app, fresh)

        refused = flask_db(fresh, "restore", str(dump))
        assert refused.exit_code == 1 and "the target database is not empty" in refused.output
        forced = flask_db(fresh, "restore", "--force", str(dump))
        assert forced.exit_code == 0, forced.output
        assert_same_shop(app, fresh)
    finally:
        with fresh.app_context():
            db.session.remove()
            db.engine.dispose()
        empty_postgres_database(url)
