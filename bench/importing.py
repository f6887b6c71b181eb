"""Import speed: ``flask books import`` of a generated CSV into a fresh database.

A section of ``make bench`` (``run() -> (text, ok)``, see bench/run.py); also
``python -m bench.importing``. Settings (environment):

    BENCH_IMPORT_ROWS=100000   rows in the generated CSV (0 skips the section)
    BENCH_DATABASE_URL         a scratch database to use instead of SQLite; it is EMPTIED
    BENCH_KEEP=1               keep the temp dir (database, CSV) and print its path
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.catalogue import write_csv  # noqa: E402
from bench.run import BIN, app_env, prepare_database, run_step, say  # noqa: E402

IMPORT_FIRST_SERIAL = 1_000_000  # imported ISBNs never collide with the seeded ones


@dataclass
class ImportTiming:
    rows: int
    seconds: float
    inserted: int
    updated: int
    rejected: int

    @property
    def ok(self) -> bool:
        return not self.rejected and self.inserted + self.updated == self.rows


def time_import(rows: int, database_url: str | None, workdir: Path) -> ImportTiming:
    """Time ``flask books import`` of a generated CSV into a fresh database (app start-up included)."""
    csv_path = workdir / f"books-{rows}.csv"
    say(f"Writing {rows:,} rows to {csv_path.name}...")
    write_csv(csv_path, rows, first_serial=IMPORT_FIRST_SERIAL)
    env = app_env(database_url or f"sqlite:///{workdir / 'import.db'}")
    prepare_database(env, reset=True)
    say("Timing flask books import...")
    started = time.perf_counter()
    output = run_step([str(BIN / "flask"), "books", "import", str(csv_path)], env)
    seconds = time.perf_counter() - started
    found = re.search(r"(\d+) inserted, (\d+) updated, (\d+) rejected", output)
    if found is None:
        raise RuntimeError(f"cannot read the import summary:\n{output}")
    inserted, updated, rejected = (int(n) for n in found.groups())
    return ImportTiming(rows, seconds, inserted, updated, rejected)


def report(timing: ImportTiming, database_url: str | None) -> str:
    database = f"{database_url.split(':')[0]} (BENCH_DATABASE_URL, emptied)" if database_url else "SQLite"
    return (
        f"Import: flask books import of {timing.rows:,} CSV rows into a fresh {database} database:"
        f" {timing.seconds:.1f} s, {timing.rows / timing.seconds:,.0f} rows/s\n"
        f"  ({timing.inserted:,} inserted, {timing.updated:,} updated, {timing.rejected:,} rejected;"
        " app start-up included)\n"
    )


def run() -> tuple[str, bool]:
    rows = int(os.environ.get("BENCH_IMPORT_ROWS") or 100_000)
    if rows <= 0:
        return "Import: skipped (BENCH_IMPORT_ROWS=0)\n", True
    database_url = os.environ.get("BENCH_DATABASE_URL") or None
    keep = (os.environ.get("BENCH_KEEP") or "") not in ("", "0")
    workdir = Path(tempfile.mkdtemp(prefix="bookcommerce-import-"))
    try:
        timing = time_import(rows, database_url, workdir)
    finally:
        if keep:
            say(f"Kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return report(timing, database_url), timing.ok


if __name__ == "__main__":
    text, ok = run()
    print(text, end="")
    sys.exit(0 if ok else 1)
