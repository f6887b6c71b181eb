"""Preparing the benchmark database (run by ``bench/run.py`` with DATABASE_URL set).

python -m bench.database reset              # empty a PostgreSQL database or delete an SQLite file
python -m bench.database seed 10000 OUT     # add generated books; write their page paths to OUT (JSON)
"""

from __future__ import annotations

import argparse
import json
import time
from itertools import islice
from pathlib import Path

from sqlalchemy import select, text

from app import create_app
from app.catalogue.services import book_data_from_row, upsert_books
from app.extensions import db
from app.models import Book
from bench.catalogue import book_rows

SEED_BATCH = 1000


def reset_database() -> str:
    """Leave the configured database empty, ready for ``flask db upgrade``; returns what was done."""
    engine = db.engine
    if engine.dialect.name == "sqlite":
        database = engine.url.database
        if database and database != ":memory:":
            engine.dispose()
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(database + suffix).unlink(missing_ok=True)
        return f"deleted {database}"
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        return f"emptied schema public of {engine.url.render_as_string(hide_password=True)}"
    raise SystemExit(f"cannot reset a {engine.dialect.name} database: use SQLite or PostgreSQL")


def seed_books(count: int) -> list[str]:
    """Upsert ``count`` generated books in batches; returns the canonical path of every book page."""
    rows = book_rows(count)
    while batch := list(islice(rows, SEED_BATCH)):
        upsert_books([book_data_from_row(row) for row in batch])
    return [f"/books/{book_id}/{slug}" for book_id, slug in db.session.execute(select(Book.id, Book.slug))]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.database")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("reset")
    seed = commands.add_parser("seed")
    seed.add_argument("count", type=int)
    seed.add_argument("paths_out", type=Path)
    args = parser.parse_args()

    app = create_app()
    with app.app_context():
        if args.command == "reset":
            print(f"Reset the database: {reset_database()}.")
        else:
            started = time.perf_counter()
            paths = seed_books(args.count)
            args.paths_out.write_text(json.dumps(paths))
            print(f"Seeded {len(paths)} books in {time.perf_counter() - started:.1f} s.")


if __name__ == "__main__":
    main()
