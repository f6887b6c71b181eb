"""The pages section of ``make bench``: each row's req/s as a fraction of a bare Flask hello-world.

A bare Flask app (bench/bare.py) and the app (bench/app.py: create_app() plus /bench/hello) run
at the same time, each under ``gunicorn -c /dev/null -w 2`` on its own free port of 127.0.0.1.
The app runs as deployed: APP_ENV=production, the fragment cache and the rate limits in Redis
(BENCH_REDIS_URL, FLUSHED first; without Redis, in process memory, said in the report), an SQLite
database (or BENCH_DATABASE_URL, EMPTIED) with the demo data and 10,000 generated books. wrk
loads one row at a time, a warm-up each, then the rows in turn for BENCH_ROUNDS rounds, so noise
from the machine falls on every row alike. Then BENCH_MEMORY_REQUESTS mixed requests go to the
app and each worker's resident memory is read (bench/memory.py).
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from bench import catalogue, memory
from bench.load import SEARCH_MULTIPLIER, RowResult, WrkRun, run_wrk, search_words, wrk_path
from bench.run import BIN, HOST, ROOT, free_port, prepare_database, run_step, say, stop

HELLO = "/bench/hello"
READER = "reader@example.com"  # a demo reader: member of public clubs, entered in contests
DEMO_PASSWORD = "demo-password-1"
CSRF_INPUT = re.compile(r'<input[^>]*name="csrf_token"[^>]*>')
VALUE = re.compile(r'value="([^"]*)"')
LOGOUT_BUTTON = ">Log out</button>"  # base.html shows it to a signed-in reader only
CACHE_MODES = {"on": ["on"], "off": ["off"], "both": ["on", "off"]}
SEARCH_SERIALS_PER_RUN = 10_000_000 // 64  # search.lua's serials: a fresh block for every wrk run


@dataclass
class Settings:
    seconds: float
    rounds: int
    warmup: float
    connections: int
    threads: int
    workers: int
    books: int
    caches: list[str]
    database_url: str | None
    redis_url: str
    memory_requests: int
    timeout: float
    keep: bool

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        cache = (env.get("BENCH_CACHE") or "on").lower()
        if cache not in CACHE_MODES:
            sys.exit(f"bench: BENCH_CACHE={cache!r}; use one of {', '.join(CACHE_MODES)}")
        return cls(
            seconds=float(env.get("BENCH_SECONDS") or 10),
            rounds=max(1, int(env.get("BENCH_ROUNDS") or 5)),
            warmup=float(env.get("BENCH_WARMUP") or 2),
            connections=int(env.get("BENCH_CONNECTIONS") or 16),
            threads=int(env.get("BENCH_THREADS") or 2),
            workers=int(env.get("BENCH_WORKERS") or 2),
            books=int(env.get("BENCH_BOOKS") or 10_000),
            caches=CACHE_MODES[cache],
            database_url=env.get("BENCH_DATABASE_URL") or None,
            redis_url=env.get("BENCH_REDIS_URL") or "redis://127.0.0.1:6379/12",
            memory_requests=int(env.get("BENCH_MEMORY_REQUESTS") or 10_000),
            timeout=float(env.get("BENCH_TIMEOUT") or 5),
            keep=(env.get("BENCH_KEEP") or "") not in ("", "0"),
        )


@dataclass
class Row:
    number: int
    name: str
    path: str  # the URL's path; the script may send others
    target: float | None = None  # the least req/s, as a fraction of bare Flask's, the issue asks for
    server: str = "app"  # "bare", or "app" (the cache mode is the row's)
    script: str = "fixed.lua"
    signed_in: bool = False
    cache: str = "on"

    @property
    def label(self) -> str:
        return self.name if self.server == "bare" or self.cache == "on" else f"{self.name}, cache off"


@dataclass
class Site:
    """What the rows need to know about the seeded database."""

    club_slug: str
    contest_id: int
    book_paths: list[str]


def rows_for(site: Site, caches: list[str]) -> list[Row]:
    rows = [
        Row(1, "bare Flask hello-world", "/bench/hello", server="bare"),
        Row(2, "in-app hello (/bench/hello)", "/bench/hello", 0.90),
    ]
    for cache in caches:
        club, contest = f"/clubs/{site.club_slug}", f"/contests/{site.contest_id}"
        book_row = f"book page (random of {len(site.book_paths):,}), anonymous"
        rows += [
            Row(3, "/books, anonymous", "/books", 0.80, cache=cache),
            Row(4, "/books, signed in", "/books", 0.50, signed_in=True, cache=cache),
            Row(5, f"club page, signed in ({club})", club, 0.40, signed_in=True, cache=cache),
            Row(6, f"contest page, signed in ({contest})", contest, 0.40, signed_in=True, cache=cache),
            Row(7, "/books?q=<never seen>, anonymous", "/books", 0.30, script="search.lua", cache=cache),
            Row(8, book_row, "/books", 0.50, script="paths.lua", cache=cache),
        ]
    return rows


# ---- Servers --------------------------------------------------------------------------------


def served_env(database_url: str, redis_url: str | None, workdir: Path, cache: str) -> dict[str, str]:
    """The app's environment: production settings, as deployed, on plain HTTP at 127.0.0.1."""
    dropped = ("REDIS_URL", "FLASK_DEBUG", "GUNICORN_CMD_ARGS", "WEB_CONCURRENCY", "MAIL_SERVER", "SENTRY_DSN")
    env = {key: value for key, value in os.environ.items() if key not in dropped}
    env.update(
        APP_ENV="production",
        SECRET_KEY="bench-only-not-secret-0123456789abcdef",
        BASE_URL=f"http://{HOST}",
        ALLOW_SIMULATED_PAYMENTS="1",
        DATABASE_URL=database_url,
        FLASK_APP="wsgi:app",
        INSTANCE_PATH=str(workdir / "instance"),
        OUTBOX_DIR=str(workdir / "outbox"),
        # Every request comes from 127.0.0.1: the limits still run (and count in Redis), but cannot trip.
        SEARCH_LIMIT_PER_IP="100000000 per minute",
        LOGIN_LIMIT_PER_IP="100000 per minute",
        LOGIN_LIMIT_PER_ACCOUNT="100000 per minute",
        BENCH_CACHE=cache,
    )
    if redis_url:
        env["REDIS_URL"] = redis_url
    else:  # production refuses in-memory limits unless told there is one worker
        env.update(ALLOW_IN_MEMORY_LIMITS="1", WEB_CONCURRENCY="1")
    return env


def start_gunicorn(module: str, workers: int, env: dict[str, str], log_path: Path) -> tuple[subprocess.Popen, int]:
    """``gunicorn -c /dev/null`` (gunicorn.conf.py is not read) on a free port; returns once it answers."""
    port = free_port()
    args = [str(BIN / "gunicorn"), "-c", "/dev/null", "-w", str(workers), "-b", f"{HOST}:{port}", module]
    with log_path.open("w") as log:
        server = subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"bench: gunicorn {module} exited with {server.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            if request(port, "GET", "/bench/hello")[0] == 200:
                return server, port
        except OSError:
            time.sleep(0.2)
    stop(server)
    sys.exit(f"bench: gunicorn {module} did not answer within 60 s:\n{log_path.read_text()[-3000:]}")


def request(
    port: int, method: str, path: str, cookies: dict[str, str] | None = None, form: dict | None = None
) -> tuple[int, str, str]:
    """One request; returns (status, Location, body) and keeps the cookies set in ``cookies``."""
    headers = {"Cookie": cookie_header(cookies)} if cookies else {}
    body = None
    if form is not None:
        body = urlencode(form)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    connection = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        text = response.read().decode("utf-8", "replace")
    finally:
        connection.close()
    if cookies is not None:
        for header in response.msg.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                cookies[name] = morsel.value
    return response.status, response.getheader("Location") or "", text


def cookie_header(cookies: dict[str, str]) -> str:
    return "; ".join(f"{name}={value}" for name, value in cookies.items() if value)


def log_in(port: int) -> str:
    """Log in through the real form (CSRF token and all); returns the Cookie header of the session."""
    cookies: dict[str, str] = {}
    status, _, text = request(port, "GET", "/auth/login", cookies)
    found = CSRF_INPUT.search(text)
    token = VALUE.search(found.group(0)) if found else None
    if status != 200 or token is None:
        sys.exit(f"bench: GET /auth/login answered {status} without a CSRF token")
    form = {"csrf_token": token.group(1), "email": READER, "password": DEMO_PASSWORD}
    status, location, _ = request(port, "POST", "/auth/login", cookies, form)
    if status not in (302, 303) or urlsplit(location).path.startswith("/auth/login"):
        sys.exit(f"bench: logging in as {READER} answered {status} -> {location or '-'}")
    status, location, _ = request(port, "GET", "/account", cookies)
    if status != 200:
        sys.exit(f"bench: after logging in, /account answered {status} -> {location or '-'}")
    return cookie_header(cookies)


def visit(port: int) -> str:
    """A visitor's Cookie header, as a browser holds it after two pages: the session with its CSRF
    token, sent back on every later page (a visitor without any cookie is a first visit only)."""
    cookies: dict[str, str] = {}
    for _ in range(2):
        status, _, _ = request(port, "GET", "/books", cookies)
        if status != 200:
            sys.exit(f"bench: GET /books answered {status} to a visitor")
    return cookie_header(cookies)


# ---- The database ---------------------------------------------------------------------------


def seed(settings: Settings, env: dict[str, str], workdir: Path) -> None:
    say("Migrating the database...")
    prepare_database(env, reset=settings.database_url is not None)
    say("Seeding the demo data (flask seed demo --force: the app runs with production settings)...")
    run_step([str(BIN / "flask"), "seed", "demo", "--force"], env)
    say(f"Seeding {settings.books:,} generated books...")
    paths_file = workdir / "all-book-paths.json"  # bench.database writes every book's path; read_site picks
    say(run_step([str(BIN / "python"), "-m", "bench.database", "seed", str(settings.books), str(paths_file)], env))


def read_site(database_url: str) -> Site:
    from sqlalchemy import text

    from bench.loadtest import engine_for  # the same URL handling as the load test's

    engine = engine_for(database_url)
    with engine.connect() as connection:
        club = connection.scalar(
            text(
                "SELECT c.slug FROM clubs c JOIN memberships r ON r.club_id = c.id AND r.status = 'active'"
                " JOIN users u ON u.id = r.user_id AND u.email = :email"
                " WHERE c.visibility = 'public' AND c.closed_at IS NULL"
                " AND EXISTS (SELECT 1 FROM donations d WHERE d.club_id = c.id AND d.status = 'paid')"
                " AND EXISTS (SELECT 1 FROM contest_entries e WHERE e.club_id = c.id)"
                " ORDER BY (SELECT COUNT(*) FROM memberships m WHERE m.club_id = c.id) DESC, c.id LIMIT 1"
            ),
            {"email": READER},
        )
        contest = connection.scalar(
            text(
                "SELECT c.id FROM contests c WHERE c.status = 'open'"
                " ORDER BY (SELECT COUNT(*) FROM contest_entries e WHERE e.contest_id = c.id) DESC, c.id LIMIT 1"
            )
        )
        # The generated books only (bench/catalogue.py numbers their ISBNs from 978000000000).
        books = connection.execute(
            text("SELECT id, slug FROM books WHERE isbn13 LIKE '978000%' AND removed_at IS NULL ORDER BY id")
        ).all()
    engine.dispose()
    if club is None or contest is None or not books:
        sys.exit(f"bench: the seeded database lacks a club ({club}), an open contest ({contest}) or books")
    return Site(club, contest, [f"/books/{book_id}/{slug}" for book_id, slug in books])


def redis_or_none(url: str) -> str | None:
    """FLUSH the bench's Redis database and return its URL, or None if Redis does not answer."""
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=2).flushdb()
    except Exception as exc:  # any failure means: measure without Redis, and say so
        say(f"Redis at {url} is unreachable ({type(exc).__name__}): cache and limits in process memory.")
        return None
    return url


# ---- The run --------------------------------------------------------------------------------


class Bench:
    """The servers, the rows and the files the Lua scripts read."""

    def __init__(self, settings: Settings, workdir: Path, ports: dict[str, int], cookies: dict[str, str]):
        self.settings = settings
        self.ports = ports  # "bare", "on", "off" -> port
        self.cookies = cookies  # cache mode -> Cookie header of the signed-in reader
        self.visitors = {cache: visit(port) for cache, port in ports.items() if cache != "bare"}
        self.book_file = workdir / "book-paths.txt"
        self.words_file = workdir / "words.txt"
        self.words: list[str] = []
        self.next_serial = 0

    def write_files(self, site: Site) -> None:
        self.book_file.write_text("\n".join(site.book_paths) + "\n")
        self.words = search_words(
            [catalogue.ADJECTIVES, catalogue.NOUNS, catalogue.PLACES, catalogue.FIRST_NAMES, catalogue.SURNAMES]
            + [catalogue.PROFESSIONS, catalogue.VERBS]
        )
        self.words_file.write_text("\n".join(self.words) + "\n")

    def port(self, row: Row) -> int:
        return self.ports["bare" if row.server == "bare" else row.cache]

    def load(self, row: Row, seconds: float) -> WrkRun:
        script_args = None
        if row.script == "paths.lua":
            script_args = [str(self.book_file)]
        elif row.script == "search.lua":
            # A fresh block of serials for every run: no query is ever sent twice in a bench.
            script_args = [str(self.words_file), str(self.next_serial), str(SEARCH_MULTIPLIER)]
            script_args.append(str(self.settings.threads))
            self.next_serial += SEARCH_SERIALS_PER_RUN
        headers = self.headers(row)
        return run_wrk(
            f"http://{HOST}:{self.port(row)}{row.path}",
            seconds,
            connections=self.settings.connections,
            threads=self.settings.threads,
            script=row.script,
            script_args=script_args,
            headers=headers,
            timeout=self.settings.timeout,
        )

    def headers(self, row: Row) -> dict[str, str] | None:
        if row.server == "bare" or row.path == HELLO:
            return None  # hello-world, in the app or bare, is the same request without any cookie
        return {"Cookie": self.cookies[row.cache] if row.signed_in else self.visitors[row.cache]}

    def check(self, row: Row) -> str | None:
        """One request of the row before it is loaded: a page that fails is reported, not measured blind."""
        path = row.path
        if row.script == "paths.lua":
            path = self.book_file.read_text().split("\n", 1)[0]
        elif row.script == "search.lua":
            path = "/books?q=" + "+".join(self.words[:2])
        header = (self.headers(row) or {}).get("Cookie", "")
        cookies = dict(pair.split("=", 1) for pair in header.split("; ") if pair)
        status, location, text = request(self.port(row), "GET", path, dict(cookies))
        if status != 200:
            return f"GET {path} answered {status} {location}".strip()
        if row.signed_in != (LOGOUT_BUTTON in text):
            return f"GET {path} is {'not ' if row.signed_in else ''}signed in"
        return None


def measure(bench: Bench, rows: list[Row]) -> dict[int, RowResult]:
    settings = bench.settings
    results = {id(row): RowResult() for row in rows}
    if settings.warmup > 0:
        say(f"Warming up, {settings.warmup:g} s per row...")
        for row in rows:
            bench.load(row, settings.warmup)
    slice_seconds = settings.seconds / settings.rounds
    for number in range(1, settings.rounds + 1):
        say(f"Round {number}/{settings.rounds}: {slice_seconds:g} s per row...")
        for row in rows:
            results[id(row)].add(bench.load(row, slice_seconds))
    return results


def run() -> tuple[str, bool]:
    """Serve, load, measure memory; returns the report and whether every request succeeded."""
    settings = Settings.from_env()
    if wrk_path() is None:
        return "Pages: skipped, wrk is not installed (apt-get install wrk)\n", False
    workdir = Path(tempfile.mkdtemp(prefix="bookcommerce-bench-"))
    try:
        return _run(settings, workdir)
    finally:
        if settings.keep:
            say(f"Kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def _run(settings: Settings, workdir: Path) -> tuple[str, bool]:
    from bench.report import pages_report

    redis_url = redis_or_none(settings.redis_url)
    database_url = settings.database_url or f"sqlite:///{workdir / 'bench.db'}"
    seed(settings, served_env(database_url, redis_url, workdir, "on"), workdir)
    site = read_site(database_url)
    with ExitStack() as servers:
        ports: dict[str, int] = {}
        masters: dict[str, int] = {}
        bare_env = {k: v for k, v in os.environ.items() if k != "GUNICORN_CMD_ARGS"}
        for name, module, env in [("bare", "bench.bare:app", bare_env)] + [
            (cache, "bench.app:app", served_env(database_url, redis_url, workdir, cache)) for cache in settings.caches
        ]:
            server, ports[name] = start_gunicorn(module, settings.workers, env, workdir / f"gunicorn-{name}.log")
            servers.callback(stop, server)
            masters[name] = server.pid
            say(f"gunicorn {module} ({name}) on {HOST}:{ports[name]}, {settings.workers} workers")
        cookies = {cache: log_in(ports[cache]) for cache in settings.caches}
        bench = Bench(settings, workdir, ports, cookies)
        bench.write_files(site)
        rows = rows_for(site, settings.caches)
        broken = {row.label: problem for row in rows if (problem := bench.check(row))}
        if broken:
            lines = ["Pages: a row's page does not answer 200, nothing measured:"]
            return "\n".join(lines + [f"  {label}: {problem}" for label, problem in broken.items()]) + "\n", False
        results = measure(bench, rows)
        say(f"Sending {settings.memory_requests:,} mixed requests, then reading the workers' memory...")
        mixed = memory.measure(
            ports[settings.caches[0]],
            masters[settings.caches[0]],
            masters["bare"],
            requests=settings.memory_requests,
            cookie=cookies[settings.caches[0]],
            site=site,
            words=bench.words,
            first_serial=bench.next_serial,
        )
    text = pages_report(settings, rows, results, mixed, redis_url)
    failed = any(result.error_count for result in results.values()) or mixed.failures
    return text, not failed
