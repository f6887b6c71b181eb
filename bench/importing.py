"""Timing ``flask books import`` of 100,000 generated rows into SQLite and PostgreSQL.

``python -m bench.importing`` (``bench/run.py`` calls ``run()``): writes a generated CSV
(``bench/catalogue.py``), then for each database times the real command in a subprocess, app
start-up included: first into an empty database (every row inserted), then the same file again
(every row an update). After each import a check counts the books, their full-text entries and the
search vocabulary, and searches for an imported title and author, so a fast import that left search
stale does not pass.

Settings (environment):

    BENCH_IMPORT_ROWS=100000     rows in the generated CSV
    BENCH_IMPORT_DATABASE_URL    the PostgreSQL database to use, EMPTIED first (schema public dropped)
                                 (default postgresql://postgres@127.0.0.1:5432/bench_import, created
                                 if missing); "none" skips PostgreSQL
    BENCH_IMPORT_AGAIN=1         0 skips the second import (all updates)
    BENCH_KEEP=1                 keep the temp dir (CSV, SQLite file, rejects) and print its path
"""

from __future__ import annotations

import csv
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run as ``python bench/importing.py`` too

from bench.catalogue import write_csv  # noqa: E402
from bench.run import app_env, say  # noqa: E402  (development settings, no Redis, no debug)

BIN = Path(sys.executable).parent  # the venv's python, so its flask
TARGET_ROWS_PER_SECOND = 20_000
IMPORT_FIRST_SERIAL = 1_000_000  # imported ISBNs never collide with the ones bench.database seeds
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/bench_import"


@dataclass
class Timing:
    database: str
    label: str
    rows: int
    seconds: float
    inserted: int
    updated: int
    rejected: int
    cpu_seconds: float  # of the flask process alone (PostgreSQL's own work is not in it)
    check: str = ""
    check_ok: bool = True

    @property
    def per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def run_step(args: list[str], env: dict[str, str], ok_codes: tuple[int, ...] = (0,)) -> str:
    """Run one command in the project root; raise with its output if it fails."""
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode not in ok_codes:
        raise RuntimeError(f"{' '.join(args)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return done.stdout.strip()


def ensure_postgres_database(url: str) -> None:
    """Create the bench database if the server does not have it yet."""
    import psycopg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    admin = parsed.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (parsed.database,)).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{parsed.database}"')


def fresh_database(env: dict[str, str]) -> None:
    """Empty the database (delete the SQLite file, or drop PostgreSQL's schema public) and migrate it."""
    say(run_step([str(BIN / "python"), "-m", "bench.database", "reset"], env))
    run_step([str(BIN / "flask"), "db", "upgrade"], env)


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_import(database: str, label: str, csv_path: Path, rows: int, env: dict[str, str]) -> Timing:
    """Time ``flask books import`` (a subprocess: app start-up included) and read its summary."""
    say(f"{database}: timing flask books import ({label})...")
    cpu_before = _children_cpu_seconds()
    started = time.perf_counter()
    # Exit status 2 means rows were rejected: still a timing, reported as a failure.
    output = run_step([str(BIN / "flask"), "books", "import", str(csv_path)], env, ok_codes=(0, 2))
    seconds = time.perf_counter() - started
    cpu = _children_cpu_seconds() - cpu_before
    found = re.search(r"(\d+) inserted, (\d+) updated, (\d+) rejected", output)
    if found is None:
        raise RuntimeError(f"cannot read the import summary:\n{output}")
    inserted, updated, rejected = (int(n) for n in found.groups())
    return Timing(database, label, rows, seconds, inserted, updated, rejected, cpu)


def check_search(env: dict[str, str], csv_path: Path) -> tuple[str, bool]:
    """Count the books and vocabulary words, and search for the file's last book as a reader would."""
    output = run_step([str(BIN / "python"), "-m", "bench.importing", "--check", str(csv_path)], env)
    result = json.loads(output.splitlines()[-1])
    return result["text"], result["ok"]


def _check_in_app(csv_path: Path) -> dict:
    """Run inside the app (``--check``): what a reader of the catalogue would notice after the import."""
    from sqlalchemy import func, select

    from app import create_app
    from app.catalogue.queries import CatalogueParams, list_books
    from app.catalogue.vocabulary import closest_words
    from app.extensions import db
    from app.models import Book, SearchWord

    with csv_path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    last = rows[-1]
    author = last["authors"].split(";")[0].strip()
    surname = author.split()[-1].lower()
    misspelt = surname[:-2] + surname[-1] + surname[-2]  # the last two letters swapped
    app = create_app()
    with app.app_context():
        books = db.session.scalar(select(func.count(Book.id)))
        words = db.session.scalar(select(func.count()).select_from(SearchWord))
        found = {}
        for name, query in (("by author", author), ("by title and author", f"{last['title']} {author}")):
            page = list_books(CatalogueParams(q=query, per_page=500, exact=True))
            found[name] = any(book.isbn13 == last["isbn"] for book in page.books)
        found[f"{misspelt!r} corrected"] = closest_words([misspelt]).get(misspelt) == surname
    ok = books == len(rows) and words > 0 and all(found.values())
    text_value = f"{books:,} books, {words:,} vocabulary words; the last book found " + ", ".join(
        f"{name}: {'yes' if hit else 'NO'}" for name, hit in found.items()
    )
    return {"text": text_value, "ok": ok}


def bench_database(database: str, url: str, csv_path: Path, rows: int, again: bool) -> list[Timing]:
    env = app_env(url)
    fresh_database(env)
    labels = ["into an empty database"] + (["the same file again, all updates"] if again else [])
    timings = []
    for label in labels:
        timing = time_import(database, label, csv_path, rows, env)
        timing.check, timing.check_ok = check_search(env, csv_path)
        timings.append(timing)
    return timings


def report(rows: int, timings: list[Timing], skipped: list[str]) -> tuple[str, bool]:
    lines = [
        f"Import: flask books import of {rows:,} generated CSV rows (app start-up included; load average"
        f" {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs: wall times grow with it,"
        " the command's CPU seconds do not)"
    ]
    ok = True
    for t in timings:
        met = t.per_second >= TARGET_ROWS_PER_SECOND
        lines.append(
            f"  {t.database:<10} {t.label:<34} {t.seconds:6.1f} s {t.per_second:>9,.0f} rows/s"
            f" (CPU {t.cpu_seconds:.1f} s)"
            f"  ({t.inserted:,} inserted, {t.updated:,} updated, {t.rejected:,} rejected)"
            f"  target >= {TARGET_ROWS_PER_SECOND:,} rows/s: {'met' if met else 'NOT met'}"
        )
        if t.check:
            lines.append(f"  {'':<10} after it: {t.check}")
        ok = ok and not t.rejected and t.inserted + t.updated == t.rows and t.check_ok
    lines += [f"  {note}" for note in skipped]
    return "\n".join(lines) + "\n", ok


def run() -> tuple[str, bool]:
    """Time the import into SQLite and PostgreSQL; returns the report and whether every row got in."""
    rows = int(os.environ.get("BENCH_IMPORT_ROWS") or 100_000)
    again = os.environ.get("BENCH_IMPORT_AGAIN", "1") != "0"
    postgres_url = os.environ.get("BENCH_IMPORT_DATABASE_URL") or DEFAULT_POSTGRES_URL
    keep = (os.environ.get("BENCH_KEEP") or "") not in ("", "0")
    workdir = Path(tempfile.mkdtemp(prefix="bookcommerce-import-"))
    timings: list[Timing] = []
    skipped: list[str] = []
    try:
        csv_path = workdir / f"books-{rows}.csv"
        say(f"Writing {rows:,} rows to {csv_path.name}...")
        write_csv(csv_path, rows, first_serial=IMPORT_FIRST_SERIAL)
        timings += bench_database("SQLite", f"sqlite:///{workdir / 'import.db'}", csv_path, rows, again)
        if postgres_url.lower() == "none":
            skipped.append("PostgreSQL skipped (BENCH_IMPORT_DATABASE_URL=none)")
        else:
            ensure_postgres_database(postgres_url)
            timings += bench_database("PostgreSQL", postgres_url, csv_path, rows, again)
    finally:
        if keep:
            say(f"Kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return report(rows, timings, skipped)


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        print(json.dumps(_check_in_app(Path(sys.argv[2]))))
        return 0
    text_value, ok = run()
    print(text_value, end="")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
