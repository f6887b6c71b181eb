"""Backing up and restoring the app's database (``flask db backup`` / ``flask db restore``).

SQLite (the embedded default) is copied with SQLite's online backup API: the copy is a
consistent snapshot taken in one read transaction, so the app may keep writing (its writers wait
the few milliseconds the copy holds the read lock, or not at all in WAL mode). PostgreSQL is
dumped with ``pg_dump --format=custom`` (also one consistent snapshot, writers never wait) and
restored with ``pg_restore`` in a single transaction.

A backup is written next to its destination under a temporary name and renamed when complete, so
PATH never holds half a backup. A restore refuses a database that already has tables unless told
to replace them.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import URL, Engine

from app.extensions import db

SQLITE_BUSY_TIMEOUT_SECONDS = 30  # a backup waits this long for a writer's commit to end


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why and what to do."""


@dataclass(frozen=True)
class Outcome:
    kind: str  # "sqlite" or "postgresql"
    database: str  # the file, or the database name (never the password)
    path: Path
    size_bytes: int
    seconds: float
    tables: int  # tables in the copy (backup) or in the database (restore)
    revision: str | None  # the Alembic revision the copy is at


def backup_database(path: str | os.PathLike, engine: Engine | None = None) -> Outcome:
    """Write a backup of the app's database to ``path`` (overwriting a file there)."""
    engine = engine or db.engine
    destination = Path(path)
    if destination.is_dir():
        raise BackupError(f"{destination} is a directory; give the backup file's path")
    if not destination.parent.is_dir():
        raise BackupError(f"{destination.parent} does not exist")
    partial = destination.with_name(f".{destination.name}.partial")
    started = time.perf_counter()
    try:
        if engine.dialect.name == "sqlite":
            database = _sqlite_file(engine)
            _sqlite_copy(database, partial)
        elif engine.dialect.name == "postgresql":
            database = engine.url.database or ""
            _run(
                _pg_tool("pg_dump"),
                "--format=custom",
                "--no-owner",
                f"--file={partial}",
                _libpq_url(engine.url),
                env=_libpq_env(engine.url),
                doing="pg_dump",
            )
        else:
            raise BackupError(f"no backup for {engine.dialect.name} databases")
        os.replace(partial, destination)
    finally:
        partial.unlink(missing_ok=True)
    tables, revision = describe_backup(destination, engine.dialect.name)
    return Outcome(
        engine.dialect.name,
        str(database),
        destination,
        destination.stat().st_size,
        time.perf_counter() - started,
        tables,
        revision,
    )


def restore_database(path: str | os.PathLike, engine: Engine | None = None, *, force: bool = False) -> Outcome:
    """Load the backup at ``path`` into the app's database. A database that already has tables is
    refused unless ``force``; then its contents are replaced by the backup's."""
    engine = engine or db.engine
    source = Path(path)
    if not source.is_file():
        raise BackupError(f"no backup file at {source}")
    kind = engine.dialect.name
    if kind not in ("sqlite", "postgresql"):
        raise BackupError(f"no restore for {kind} databases")
    database = _sqlite_file(engine) if kind == "sqlite" else engine.url.database or ""
    if kind == "sqlite" and not database.parent.is_dir():
        raise BackupError(f"{database.parent} does not exist")
    describe_backup(source, kind)  # refuses a file that is not a backup of this kind of database
    existing = len(_user_tables(engine))
    if existing and not force:
        raise BackupError(
            f"the target database is not empty ({existing} tables); restore into a new database, "
            "or pass --force to replace its contents"
        )
    started = time.perf_counter()
    db.session.remove()
    engine.dispose()  # no pooled connection keeps reading the old contents
    if kind == "sqlite":
        _sqlite_restore(source, database)
    else:
        clean = ["--clean", "--if-exists"] if existing else []
        _run(
            _pg_tool("pg_restore"),
            "--no-owner",
            "--single-transaction",
            "--exit-on-error",
            *clean,
            f"--dbname={_libpq_url(engine.url)}",
            str(source),
            env=_libpq_env(engine.url),
            doing="pg_restore",
        )
    engine.dispose()
    tables = len(_user_tables(engine))
    with engine.connect() as conn:
        revision = _revision(conn)
    return Outcome(kind, str(database), source, source.stat().st_size, time.perf_counter() - started, tables, revision)


def describe_backup(path: Path, kind: str) -> tuple[int, str | None]:
    """(tables, Alembic revision) of a backup file; refuses a file that is not one."""
    if kind == "sqlite":
        try:
            with _sqlite_read_only(path) as conn:
                check = conn.execute("PRAGMA quick_check").fetchone()[0]
                if check != "ok":
                    raise BackupError(f"{path} is a damaged SQLite database ({check})")
                tables = conn.execute(
                    "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
                ).fetchone()[0]
                has_version = conn.execute(
                    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
                ).fetchone()
                revision = conn.execute("SELECT version_num FROM alembic_version").fetchone() if has_version else None
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"{path} is not a SQLite backup ({exc})") from None
        return tables, revision[0] if revision else None
    listing = _run(_pg_tool("pg_restore"), "--list", str(path), doing="pg_restore --list", what=path)
    tables = sum(1 for line in listing.splitlines() if " TABLE " in line and " TABLE DATA " not in line)
    return tables, None  # the revision is a row: known once restored


# ---- SQLite ----------------------------------------------------------------------------------


def _sqlite_file(engine: Engine) -> Path:
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        raise BackupError("the database is in memory: there is nothing on disk to back up or restore")
    return Path(database)


class _sqlite_read_only:
    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=SQLITE_BUSY_TIMEOUT_SECONDS)

    def __enter__(self) -> sqlite3.Connection:
        return self.conn

    def __exit__(self, *exc: object) -> None:
        self.conn.close()


def _sqlite_copy(database: Path, destination: Path) -> None:
    if not database.is_file():
        raise BackupError(f"no SQLite database at {database}")
    destination.unlink(missing_ok=True)
    target = sqlite3.connect(destination)
    try:
        with _sqlite_read_only(database) as source:
            # pages=-1: the whole database in one step, inside one read transaction, so the copy is
            # a snapshot. Copied in smaller steps, each write by the app would restart the copy.
            source.backup(target, pages=-1)
    finally:
        target.close()


def _sqlite_restore(source: Path, database: Path) -> None:
    target = sqlite3.connect(database, timeout=SQLITE_BUSY_TIMEOUT_SECONDS)
    try:
        with _sqlite_read_only(source) as backup:
            # The backup API into the live file: it takes the write lock and replaces every page,
            # so tables that are not in the backup are gone too.
            backup.backup(target, pages=-1)
    finally:
        target.close()


# ---- PostgreSQL ------------------------------------------------------------------------------


def _pg_tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"{name} is not installed or not on PATH: install the PostgreSQL client tools of the server's "
            f"major version or newer (Debian: apt-get install postgresql-client)"
        )
    return found


def _libpq_url(url: URL) -> str:
    """The URL as libpq reads it: no SQLAlchemy driver name, no password (that goes in PGPASSWORD,
    where ``ps`` cannot see it)."""
    return url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)


def _libpq_env(url: URL) -> dict[str, str]:
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return env


def _run(*args: str, env: dict[str, str] | None = None, doing: str, what: object = None) -> str:
    result = subprocess.run(list(args), env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
        reason = lines[-1] if lines else f"exit status {result.returncode}"
        subject = f" {what}" if what is not None else ""
        raise BackupError(f"{doing}{subject} failed: {reason}")
    return result.stdout


# ---- Both ------------------------------------------------------------------------------------


def _user_tables(engine: Engine) -> list[str]:
    inspector = inspect(engine)
    if engine.dialect.name == "postgresql":
        schemas = [s for s in inspector.get_schema_names() if s != "information_schema" and not s.startswith("pg_")]
        return [f"{schema}.{table}" for schema in schemas for table in inspector.get_table_names(schema=schema)]
    return inspector.get_table_names()


def _revision(conn) -> str | None:  # noqa: ANN001 - a SQLAlchemy connection
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
