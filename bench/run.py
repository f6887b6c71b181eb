"""``make bench``: serve the catalogue under gunicorn, measure it against hello-world, time a 100k import.

Steps: a fresh database (SQLite in a temp dir, or BENCH_DATABASE_URL) is migrated and seeded with
generated books; gunicorn serves ``bench.app:app`` (once with the fragment cache, once without);
every endpoint is loaded in the same run, in interleaved rounds so that a burst of other work on
the machine hits them all alike; then ``flask books import`` is timed on a generated CSV against
another fresh database. The report is printed and written to bench/results.txt.

Settings (environment):

    BENCH_SECONDS=10          measured seconds per endpoint, in BENCH_ROUNDS=5 interleaved slices,
                              after BENCH_WARMUP=2 unmeasured seconds
    BENCH_CONCURRENCY=4       client connections; BENCH_CLIENT_PROCESSES=2 processes sharing them
    BENCH_WORKERS=2           gunicorn sync workers per server
    BENCH_BOOKS=10000         books served; BENCH_IMPORT_ROWS=100000 rows imported (0 skips the import)
    BENCH_CACHE=both          on: pages as deployed (fragment cache); off: rendered every time; both
    BENCH_DATABASE_URL        a scratch database to use instead of SQLite; the bench EMPTIES it
    BENCH_KEEP=1              keep the temp dir (databases, CSV, gunicorn logs) and print its path
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from urllib.parse import quote_plus

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as ``python bench/run.py``: make ``bench`` and ``app`` importable

from bench.catalogue import SEARCHES, write_csv  # noqa: E402
from bench.load import Endpoint, LoadGenerator, Result  # noqa: E402

RESULTS_PATH = ROOT / "bench" / "results.txt"
BIN = Path(sys.executable).parent  # the venv's python, so its flask and gunicorn
HOST = "127.0.0.1"
IMPORT_FIRST_SERIAL = 1_000_000  # imported ISBNs never collide with the seeded ones
CACHE_MODES = {"both": ["on", "off"], "on": ["on"], "off": ["off"]}


@dataclass
class Settings:
    seconds: float
    rounds: int
    warmup: float
    concurrency: int
    client_processes: int
    workers: int
    books: int
    import_rows: int
    caches: list[str]
    database_url: str | None
    keep: bool

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        cache = (env.get("BENCH_CACHE") or "both").lower()
        if cache not in CACHE_MODES:
            sys.exit(f"bench: BENCH_CACHE={cache!r}; use one of {', '.join(CACHE_MODES)}")
        return cls(
            seconds=float(env.get("BENCH_SECONDS") or 10),
            rounds=max(1, int(env.get("BENCH_ROUNDS") or 5)),
            warmup=float(env.get("BENCH_WARMUP") or 2),
            concurrency=int(env.get("BENCH_CONCURRENCY") or 4),
            client_processes=int(env.get("BENCH_CLIENT_PROCESSES") or 2),
            workers=int(env.get("BENCH_WORKERS") or 2),
            books=int(env.get("BENCH_BOOKS") or 10_000),
            import_rows=int(env.get("BENCH_IMPORT_ROWS") or 100_000),
            caches=CACHE_MODES[cache],
            database_url=env.get("BENCH_DATABASE_URL") or None,
            keep=(env.get("BENCH_KEEP") or "") not in ("", "0"),
        )


@dataclass
class ImportTiming:
    rows: int
    seconds: float
    inserted: int
    updated: int
    rejected: int


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def app_env(database_url: str, cache: str = "on") -> dict[str, str]:
    """The environment of every app process: development settings, no Redis, no debug."""
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "FLASK_DEBUG")}
    env.update(
        APP_ENV="development",
        SECRET_KEY="bench-only-not-secret",
        DATABASE_URL=database_url,
        FLASK_APP="wsgi:app",
        BENCH_CACHE=cache,
    )
    return env


def run_step(args: list[str], env: dict[str, str]) -> str:
    """Run one command in the project root; stop the bench with its output if it fails."""
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"bench: {' '.join(args)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return done.stdout.strip()


def prepare_database(env: dict[str, str], reset: bool) -> None:
    if reset:
        say(run_step([str(BIN / "python"), "-m", "bench.database", "reset"], env))
    run_step([str(BIN / "flask"), "db", "upgrade"], env)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def start_gunicorn(workers: int, env: dict[str, str], port: int, log_path: Path) -> subprocess.Popen:
    """Start ``gunicorn bench.app:app`` and return once it answers /bench/hello."""
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [str(BIN / "gunicorn"), "-w", str(workers), "-b", f"{HOST}:{port}", "bench.app:app"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"bench: gunicorn exited with {server.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"http://{HOST}:{port}/bench/hello", timeout=2) as response:
                if response.status == 200:
                    return server
        except OSError:
            time.sleep(0.2)
    stop(server)
    sys.exit(f"bench: gunicorn did not answer within 30 s:\n{log_path.read_text()[-3000:]}")


def stop(server: subprocess.Popen) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)  # graceful: the master stops its workers
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def endpoints(ports: dict[str, int], book_paths: list[str]) -> list[Endpoint]:
    """Hello-world first (the floor), then each page on each server."""
    first = next(iter(ports.values()))
    pages = [
        ("/books", ["/books"]),
        ("/books?q=...", [f"/books?q={quote_plus(q)}" for q in SEARCHES]),
        ("/books/<id>", book_paths),
    ]
    return [Endpoint("hello-world", first, ["/bench/hello"], note="-")] + [
        Endpoint(name, port, paths, note=cache) for cache, port in ports.items() for name, paths in pages
    ]


def seed_database(settings: Settings, workdir: Path) -> tuple[str, list[str]]:
    """Migrate and seed the serving database; returns its URL and the path of every book page."""
    database_url = settings.database_url or f"sqlite:///{workdir / 'bench.db'}"
    env = app_env(database_url)
    say("Migrating the database...")
    prepare_database(env, reset=settings.database_url is not None)
    say(f"Seeding {settings.books:,} books...")
    paths_file = workdir / "book-paths.json"
    say(run_step([str(BIN / "python"), "-m", "bench.database", "seed", str(settings.books), str(paths_file)], env))
    return database_url, json.loads(paths_file.read_text())


def measure_pages(settings: Settings, workdir: Path) -> list[tuple[Endpoint, Result]]:
    """Serve the seeded database (one gunicorn per cache mode) and load every endpoint in rounds."""
    database_url, book_paths = seed_database(settings, workdir)
    with ExitStack() as servers:
        ports = {}
        for cache in settings.caches:
            ports[cache] = free_port()
            say(f"Starting gunicorn ({settings.workers} workers, cache {cache}) on {HOST}:{ports[cache]}...")
            server = start_gunicorn(
                settings.workers, app_env(database_url, cache), ports[cache], workdir / f"gunicorn-cache-{cache}.log"
            )
            servers.callback(stop, server)
        targets = endpoints(ports, book_paths)
        results = [Result(endpoint.name) for endpoint in targets]
        with LoadGenerator(HOST, settings.concurrency, settings.client_processes) as load:
            if settings.warmup > 0:
                say(f"Warming up, {settings.warmup:g} s per endpoint...")
                for endpoint in targets:
                    load.run(endpoint, settings.warmup)
            slice_seconds = settings.seconds / settings.rounds
            for number in range(1, settings.rounds + 1):
                say(f"Round {number}/{settings.rounds}: {slice_seconds:g} s per endpoint...")
                for endpoint, result in zip(targets, results, strict=True):
                    result.add(load.run(endpoint, slice_seconds))
    return list(zip(targets, results, strict=True))


def time_import(settings: Settings, workdir: Path) -> ImportTiming:
    """Time ``flask books import`` of a generated CSV into a fresh database (app start-up included)."""
    csv_path = workdir / f"books-{settings.import_rows}.csv"
    say(f"Writing {settings.import_rows:,} rows to {csv_path.name}...")
    write_csv(csv_path, settings.import_rows, first_serial=IMPORT_FIRST_SERIAL)
    database_url = settings.database_url or f"sqlite:///{workdir / 'import.db'}"
    env = app_env(database_url)
    prepare_database(env, reset=True)
    say("Timing flask books import...")
    started = time.perf_counter()
    output = run_step([str(BIN / "flask"), "books", "import", str(csv_path)], env)
    seconds = time.perf_counter() - started
    found = re.search(r"(\d+) inserted, (\d+) updated, (\d+) rejected", output)
    if found is None:
        sys.exit(f"bench: cannot read the import summary:\n{output}")
    inserted, updated, rejected = (int(n) for n in found.groups())
    return ImportTiming(settings.import_rows, seconds, inserted, updated, rejected)


def describe_commit() -> str:
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return commit + (" with uncommitted changes" if git("status", "--porcelain") else "")


def _ratio(value: float, floor: float) -> str:
    return f"{value / floor:.2f}x" if floor else "n/a"


def report(settings: Settings, measured: list[tuple[Endpoint, Result]], timing: ImportTiming | None, load: str) -> str:
    if settings.database_url:
        database = f"{settings.database_url.split(':')[0]} from BENCH_DATABASE_URL, emptied first"
    else:
        database = "SQLite, fresh file"
    lines = [
        f"Book Commerce benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit {describe_commit()}",
        f"Python {platform.python_version()} on {os.cpu_count()} CPUs (load average before/after: {load});"
        f" gunicorn {version('gunicorn')}, {settings.workers} sync workers on {HOST}",
        f"Database: {database}, {settings.books:,} books",
        f"Load: {settings.concurrency} connections from {settings.client_processes} client process(es);"
        f" {settings.warmup:g} s warm-up, then {settings.seconds:g} s per endpoint in {settings.rounds} rounds",
        "",
        f"{'endpoint':<14} {'cache':>5} {'requests':>9} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6}"
        f" {'req/s vs hello':>14} {'p99 vs hello':>12}",
    ]
    _, hello = measured[0]
    for endpoint, result in measured:
        p99 = result.percentile_ms(99)
        lines.append(
            f"{result.name:<14} {endpoint.note:>5} {result.requests:>9,} {result.per_second:>8.1f}"
            f" {result.percentile_ms(50):>7.1f} {p99:>7.1f} {result.errors:>6}"
            f" {_ratio(result.per_second, hello.per_second):>14} {_ratio(p99, hello.percentile_ms(99)):>12}"
        )
    for endpoint, result in measured:
        for kind, count in result.error_kinds.most_common(3):
            lines.append(f"  {result.name} (cache {endpoint.note}) error: {kind} ({count}x)")
    if timing is not None:
        lines += [
            "",
            f"Import: flask books import of {timing.rows:,} CSV rows into a fresh database: {timing.seconds:.1f} s,"
            f" {timing.rows / timing.seconds:,.0f} rows/s",
            f"        ({timing.inserted:,} inserted, {timing.updated:,} updated, {timing.rejected:,} rejected;"
            " app start-up included)",
        ]
    return "\n".join(lines) + "\n"


def _load_average() -> str:
    return f"{os.getloadavg()[0]:.1f}"


def main() -> int:
    settings = Settings.from_env()
    workdir = Path(tempfile.mkdtemp(prefix="bookcommerce-bench-"))
    load_before = _load_average()
    try:
        measured = measure_pages(settings, workdir)
        load = f"{load_before}/{_load_average()}"
        timing = time_import(settings, workdir) if settings.import_rows > 0 else None
    finally:
        if settings.keep:
            say(f"Kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    text = report(settings, measured, timing, load)
    scoring_failed = False
    if os.environ.get("BENCH_SCORING", "1") != "0":
        say("Scoring a contest over 1,000 clubs and 1,000,000 donations (PostgreSQL)...")
        scoring = subprocess.run([sys.executable, "-m", "bench.scoring"], cwd=ROOT, capture_output=True, text=True)
        text += "\n".join(line for line in scoring.stdout.splitlines() if not line.startswith("INFO")) + "\n"
        scoring_failed = scoring.returncode != 0
        if scoring_failed:
            text += scoring.stderr[-2000:]
    print(text, end="")
    RESULTS_PATH.write_text(text)
    say(f"Written to {RESULTS_PATH.relative_to(ROOT)}")
    failed = (
        scoring_failed
        or any(result.errors for _, result in measured)
        or (timing is not None and (timing.rejected or timing.inserted + timing.updated != timing.rows))
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
