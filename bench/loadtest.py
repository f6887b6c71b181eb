"""``make loadtest``: 100 signed-in readers browse and donate for a minute; no 5xx, no lost money.

Steps: a fresh database (SQLite in a temp dir, or BENCH_DATABASE_URL, which is EMPTIED) is
migrated and seeded with ``flask seed demo`` (the demo readers, clubs and books) plus generated
books; gunicorn serves the app on 127.0.0.1 only; simulated users, each with its own cookie
session, log in as the demo readers (with the CSRF token from the form) and then, until the time
is up, each sends its next request as soon as the last one is answered (no think time, so the
server is saturated and the latencies include the queue):

    /books, /books?q=..., /books/<id>/<slug>, /clubs, /clubs/<slug>, and a donation through the
    simulated gateway: GET and POST /clubs/<slug>/donate, GET the payment page, POST action=pay,
    GET /donations/<id> and look for "Thank you"

At the end the database is checked: every donation a user saw confirmed is paid and has exactly
one ``fund_entries`` row of kind donation with its amount; no other donation has one; each club's
donation entries add up to its paid donations; each club's running balance has no gap. The report
gives the answers by status, the throughput, and p50/p99 per kind of request. Exit status 1 on any
5xx, any connection error or timeout, or any ledger mismatch.

Settings (environment):

    LOADTEST_SECONDS=60       how long the users browse and donate (after all have logged in)
    LOADTEST_USERS=100        simulated users, shared over LOADTEST_CLIENT_PROCESSES=4 processes
    LOADTEST_WORKERS=4        gunicorn sync workers (the bench's config, not gunicorn.conf.py)
    LOADTEST_BOOKS=10000      generated books added to the demo catalogue
    BENCH_DATABASE_URL        a scratch database to use instead of SQLite; the load test EMPTIES it
    BENCH_KEEP=1              keep the temp dir (database, gunicorn log, outbox) and print its path
"""

from __future__ import annotations

import http.client
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter, defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from multiprocessing import get_context
from pathlib import Path
from urllib.parse import quote_plus, urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as ``python bench/loadtest.py``

from bench.catalogue import SEARCHES  # noqa: E402
from bench.run import BIN, HOST, app_env, free_port, prepare_database, run_step, say, stop  # noqa: E402

DEMO_PASSWORD = "demo-password-1"
CSRF_INPUT = re.compile(r'<input[^>]*name="csrf_token"[^>]*>')
VALUE = re.compile(r'value="([^"]*)"')
DONATION_PATH = re.compile(r"^/donations/(\d+)$")
# What a user does next, and how often (out of 100).
ACTIONS = [("books", 20), ("search", 15), ("book", 25), ("clubs", 10), ("club", 18), ("donate", 12)]


@dataclass
class Settings:
    seconds: float
    users: int
    processes: int
    workers: int
    books: int
    database_url: str | None
    keep: bool

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        users = int(env.get("LOADTEST_USERS") or 100)
        return cls(
            seconds=float(env.get("LOADTEST_SECONDS") or 60),
            users=users,
            processes=max(1, min(users, int(env.get("LOADTEST_CLIENT_PROCESSES") or 4))),
            workers=int(env.get("LOADTEST_WORKERS") or 4),
            books=int(env.get("LOADTEST_BOOKS") or 10_000),
            database_url=env.get("BENCH_DATABASE_URL") or None,
            keep=(env.get("BENCH_KEEP") or "") not in ("", "0"),
        )


@dataclass
class Site:
    """What the users need to know about the seeded database."""

    port: int
    accounts: list[str]
    book_paths: list[str]
    club_slugs: list[str]  # public, open clubs: any signed-in reader may give


@dataclass
class Tally:
    statuses: Counter = field(default_factory=Counter)
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    failures: Counter = field(default_factory=Counter)  # 5xx and no answer: "500 POST donate post" -> count
    refused: Counter = field(default_factory=Counter)  # 4xx: "429 GET /books?q=" -> count
    confirmed: dict[int, int] = field(default_factory=dict)  # donation id -> cents, seen as "Thank you"
    started_donations: int = 0
    unconfirmed: Counter = field(default_factory=Counter)  # why a donation flow did not end in thanks
    logins_failed: int = 0

    def merge(self, other: Tally) -> None:
        self.statuses.update(other.statuses)
        for kind, values in other.latencies.items():
            self.latencies[kind].extend(values)
        self.failures.update(other.failures)
        self.refused.update(other.refused)
        self.confirmed.update(other.confirmed)
        self.started_donations += other.started_donations
        self.unconfirmed.update(other.unconfirmed)
        self.logins_failed += other.logins_failed


@dataclass
class Outcome:
    """What a run measured and what the database check found."""

    tally: Tally
    seconds: float
    load: str  # the load average before/after
    client_cpu: float  # CPU seconds of the client processes
    server_cpu: float  # CPU seconds of gunicorn and its workers over the measured seconds
    problems: list[str]
    notes: list[str]
    figures: dict


class FlowError(Exception):
    """The page was not what a user expected (the reason is counted, the user carries on)."""


# ---- One simulated user ---------------------------------------------------------------------


class Browser:
    """A cookie session over http.client; gunicorn's sync workers close every connection."""

    def __init__(self, port: int, tally: Tally) -> None:
        self.port = port
        self.tally = tally
        self.cookies: dict[str, str] = {}

    def request(self, kind: str, method: str, path: str, form: dict | None = None) -> tuple[int, str, str]:
        """Send one request; returns (status, Location path, body). Raises FlowError on no answer."""
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} if self.cookies else {}
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.perf_counter()
        connection = http.client.HTTPConnection(HOST, self.port, timeout=60)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            text = response.read().decode("utf-8", "replace")
            status = response.status
        except (OSError, http.client.HTTPException) as exc:
            status, text, response = 0, "", None
            outcome = type(exc).__name__
        else:
            outcome = str(status)
        finally:
            connection.close()
        self.tally.latencies[kind].append(time.perf_counter() - started)
        self.tally.statuses[outcome] += 1
        if status == 0 or status >= 500:
            self.tally.failures[f"{outcome} {method} {kind}"] += 1
        elif status >= 400:
            self.tally.refused[f"{outcome} {method} {kind}"] += 1
        if response is None:
            raise FlowError(outcome)
        for header in response.msg.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                if morsel.value == "" or morsel["max-age"] == "0" or "1970" in morsel["expires"]:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return status, urlsplit(response.getheader("Location") or "").path, text

    def get_csrf(self, kind: str, path: str) -> str:
        status, _, text = self.request(kind, "GET", path)
        found = CSRF_INPUT.search(text)
        value = VALUE.search(found.group(0)) if found else None
        if status != 200 or value is None:
            raise FlowError(f"no csrf token on {kind} ({status})")
        return value.group(1)


def log_in(browser: Browser, email: str) -> bool:
    token = browser.get_csrf("login", "/auth/login")
    status, location, _ = browser.request(
        "login", "POST", "/auth/login", {"csrf_token": token, "email": email, "password": DEMO_PASSWORD}
    )
    return status in (302, 303) and not location.startswith("/auth/login")


def donate(browser: Browser, rng: random.Random, slug: str) -> None:
    """Give a few dollars through the simulated gateway; remember the donation if thanked."""
    tally = browser.tally
    tally.started_donations += 1
    token = browser.get_csrf("donate form", f"/clubs/{slug}/donate")
    cents = rng.randint(1, 50) * 100 + rng.choice((0, 50))
    form = {"csrf_token": token, "amount": f"{cents / 100:.2f}", "message": "From the load test"}
    status, location, _ = browser.request("donate post", "POST", f"/clubs/{slug}/donate", form)
    if status != 303 or not location.startswith("/payments/simulated/"):
        raise FlowError(f"donate post answered {status} -> {location or '-'}")
    token = browser.get_csrf("payment page", location)
    status, location, _ = browser.request("pay", "POST", location, {"csrf_token": token, "action": "pay"})
    found = DONATION_PATH.match(location)
    if status != 303 or found is None:
        raise FlowError(f"pay answered {status} -> {location or '-'}")
    status, _, text = browser.request("donation page", "GET", location)
    if status != 200 or "Thank you" not in text:
        raise FlowError(f"donation page without thanks ({status})")
    tally.confirmed[int(found.group(1))] = cents


def browse(browser: Browser, rng: random.Random, site: Site) -> None:
    action = rng.choices([a for a, _ in ACTIONS], weights=[w for _, w in ACTIONS])[0]
    if action == "books":
        browser.request("/books", "GET", f"/books?page={rng.randint(1, 5)}")
    elif action == "search":
        browser.request("/books?q=", "GET", f"/books?q={quote_plus(rng.choice(SEARCHES))}")
    elif action == "book":
        browser.request("/books/<id>", "GET", rng.choice(site.book_paths))
    elif action == "clubs":
        browser.request("/clubs", "GET", "/clubs")
    elif action == "club":
        browser.request("/clubs/<slug>", "GET", f"/clubs/{rng.choice(site.club_slugs)}")
    else:
        donate(browser, rng, rng.choice(site.club_slugs))


def _user(site: Site, number: int, start_at: float, deadline: float, tally: Tally) -> None:
    rng = random.Random(number)
    browser = Browser(site.port, tally)
    try:
        if not log_in(browser, site.accounts[number % len(site.accounts)]):
            tally.logins_failed += 1
            return
    except FlowError:
        tally.logins_failed += 1
        return
    time.sleep(max(0.0, start_at - time.time()))  # everyone starts together, once all are signed in
    while time.time() < deadline:
        try:
            browse(browser, rng, site)
        except FlowError as exc:
            tally.unconfirmed[str(exc)] += 1


def run_users(site: Site, first: int, count: int, start_at: float, deadline: float) -> Tally:
    """One client process: ``count`` users in threads; returns their merged tally."""
    tallies = [Tally() for _ in range(count)]
    threads = [
        threading.Thread(target=_user, args=(site, first + i, start_at, deadline, tally), daemon=True)
        for i, tally in enumerate(tallies)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    total = Tally()
    for tally in tallies:
        total.merge(tally)
    return total


# ---- The server and the database ------------------------------------------------------------


def loadtest_env(database_url: str, workdir: Path) -> dict[str, str]:
    env = app_env(database_url)
    env.update(
        OUTBOX_DIR=str(workdir / "outbox"),  # receipts go here, not to instance/outbox
        LOGIN_LIMIT_PER_IP="100000 per minute",  # every user logs in from 127.0.0.1
        LOGIN_LIMIT_PER_ACCOUNT="100000 per minute",  # and ~11 users share each demo account
        SEARCH_LIMIT_PER_IP="100000 per minute",
    )
    return env


def start_server(settings: Settings, env: dict[str, str], workdir: Path) -> tuple[subprocess.Popen, int]:
    """gunicorn on 127.0.0.1 with an empty config file, so a gunicorn.conf.py in the root is not read."""
    port = free_port()
    config = workdir / "gunicorn-loadtest.conf.py"
    config.write_text("# the load test's settings are on the command line\n")
    log_path = workdir / "gunicorn.log"
    args = [str(BIN / "gunicorn"), "-c", str(config), "-w", str(settings.workers), "-b", f"{HOST}:{port}"]
    with log_path.open("w") as log:
        server = subprocess.Popen(args + ["wsgi:app"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"loadtest: gunicorn exited with {server.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"http://{HOST}:{port}/readyz", timeout=2) as response:
                if response.status == 200:
                    return server, port
        except OSError:
            time.sleep(0.2)
    stop(server)
    sys.exit(f"loadtest: gunicorn did not answer within 30 s:\n{log_path.read_text()[-3000:]}")


def engine_for(database_url: str):
    from sqlalchemy import create_engine

    if database_url.startswith(("postgres://", "postgresql://")):
        database_url = "postgresql+psycopg://" + database_url.split("://", 1)[1]
    return create_engine(database_url)


def read_site(database_url: str, port: int) -> Site:
    from sqlalchemy import text

    engine = engine_for(database_url)
    with engine.connect() as connection:
        accounts = list(connection.scalars(text("SELECT email FROM users WHERE is_disabled = false ORDER BY id")))
        books = connection.execute(text("SELECT id, slug FROM books WHERE removed_at IS NULL"))
        book_paths = [f"/books/{book_id}/{slug}" for book_id, slug in books]
        clubs = text("SELECT slug FROM clubs WHERE visibility = 'public' AND closed_at IS NULL ORDER BY id")
        club_slugs = list(connection.scalars(clubs))
    engine.dispose()
    return Site(port, accounts, book_paths, club_slugs)


def last_donation_id(database_url: str) -> int:
    from sqlalchemy import text

    engine = engine_for(database_url)
    with engine.connect() as connection:
        last = connection.scalar(text("SELECT COALESCE(MAX(id), 0) FROM donations"))
    engine.dispose()
    return last


def check_ledger(database_url: str, confirmed: dict[int, int], before: int) -> tuple[list[str], list[str], dict]:
    """Compare the donations made after id ``before`` with the fund ledger.

    Returns (problems, notes, figures): notes are about donations that were there before the run
    (the demo data), which the run did not make and does not judge.
    """
    from sqlalchemy import text

    problems: list[str] = []
    engine = engine_for(database_url)
    with engine.connect() as connection:
        donations = connection.execute(
            text(
                "SELECT d.id, d.club_id, d.amount_cents, d.status, COUNT(f.id), COALESCE(SUM(f.amount_cents), 0)"
                " FROM donations d LEFT JOIN fund_entries f ON f.donation_id = d.id AND f.kind = 'donation'"
                " GROUP BY d.id, d.club_id, d.amount_cents, d.status"
            )
        ).all()
        entries = connection.execute(
            text(
                "SELECT club_id, kind, COALESCE(donation_id, 0), amount_cents, balance_after_cents"
                " FROM fund_entries ORDER BY club_id, id"
            )
        ).all()
    engine.dispose()
    by_id = {row[0]: row for row in donations}
    for donation_id, cents in sorted(confirmed.items()):
        row = by_id.get(donation_id)
        if row is None or row[3] != "paid" or row[2] != cents or row[4] != 1 or row[5] != cents:
            problems.append(f"confirmed donation {donation_id} ({cents} cents): database has {row}")
    notes: list[str] = []
    paid_by_club: Counter = Counter()
    for donation_id, club_id, cents, status, count, total in donations:
        found = problems if donation_id > before else notes
        if status == "paid":
            if donation_id > before:
                paid_by_club[club_id] += cents
            if count != 1 or total != cents:
                found.append(f"paid donation {donation_id}: {count} donation entries for {total} cents")
        elif count:
            found.append(f"{status} donation {donation_id} has {count} donation entries")
    credited_by_club: Counter = Counter()
    balance: dict[int, int] = {}
    for club_id, kind, donation_id, cents, balance_after in entries:
        if kind == "donation" and donation_id > before:
            credited_by_club[club_id] += cents
        balance[club_id] = balance.get(club_id, 0) + cents
        if balance_after != balance[club_id]:
            problems.append(f"club {club_id}: a {kind} entry says {balance_after}, entries add to {balance[club_id]}")
            balance[club_id] = balance_after  # report each gap once
    for club_id in set(paid_by_club) | set(credited_by_club):
        if paid_by_club[club_id] != credited_by_club[club_id]:
            problems.append(
                f"club {club_id}: paid donations {paid_by_club[club_id]} cents,"
                f" donation entries {credited_by_club[club_id]} cents"
            )
    made = [row for row in donations if row[0] > before]
    figures = {
        "made": len(made),
        "paid": sum(1 for row in made if row[3] == "paid"),
        "paid_cents": sum(row[2] for row in made if row[3] == "paid"),
        "confirmed_cents": sum(confirmed.values()),
    }
    return problems, notes, figures


# ---- The run and the report -----------------------------------------------------------------


def percentile_ms(values: list[float], percent: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * percent // 100))
    return ordered[int(rank) - 1] * 1000


def drive(settings: Settings, site: Site, master: int) -> tuple[Tally, float, float]:
    """Run the users in client processes; returns their tally, the measured seconds and the
    server's CPU seconds over them (log-ins and start-up left out)."""
    share, extra = divmod(settings.users, settings.processes)
    counts = [share + (1 if i < extra else 0) for i in range(settings.processes)]
    # Logging in runs Argon2 for every user: allow for it before the clock starts.
    start_at = time.time() + 5 + settings.users * 0.08
    deadline = start_at + settings.seconds
    total = Tally()
    cpu_at_start: list[float] = []
    timer = threading.Timer(start_at - time.time(), lambda: cpu_at_start.append(server_cpu(master)))
    timer.start()
    with ProcessPoolExecutor(settings.processes, mp_context=get_context("spawn")) as pool:
        futures, first = [], 0
        for count in counts:
            futures.append(pool.submit(run_users, site, first, count, start_at, deadline))
            first += count
        for future in futures:
            total.merge(future.result())
    timer.join()
    return total, max(time.time(), deadline) - start_at, server_cpu(master) - cpu_at_start[0]


def children_cpu() -> float:
    """CPU seconds used by the child processes reaped so far (the client processes)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def server_cpu(master: int) -> float:
    """CPU seconds used so far by gunicorn's master and its live workers (Linux /proc)."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended meanwhile
        pid, ppid = int(stat.parent.name), int(fields[1])
        if master in (pid, ppid):
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def report(settings: Settings, outcome: Outcome) -> str:
    tally, seconds, figures, problems = outcome.tally, outcome.seconds, outcome.figures, outcome.problems
    database = settings.database_url.split(":")[0] + " (BENCH_DATABASE_URL)" if settings.database_url else "SQLite"
    browsing = [k for k in tally.latencies if k != "login"]
    everything = [v for k in browsing for v in tally.latencies[k]]
    requests = len(everything)
    lines = [
        f"Book Commerce load test: {settings.users} users, {settings.seconds:g} s, gunicorn {settings.workers} sync"
        f" workers on {HOST}, {os.cpu_count()} CPUs (load average before/after: {outcome.load}), {database}",
        "",
        "Answers by status (log-ins included): "
        + ", ".join(f"{status}: {count:,}" for status, count in sorted(tally.statuses.items())),
        f"Throughput: {requests:,} requests in {seconds:.1f} s = {requests / seconds:,.1f} req/s;"
        f" p50 {percentile_ms(everything, 50):.0f} ms, p99 {percentile_ms(everything, 99):.0f} ms"
        " (no think time: latency includes the queue)",
        f"CPU: server {outcome.server_cpu:.1f} s over the measured seconds = {requests / outcome.server_cpu:,.0f}"
        f" requests per server CPU-second; clients {outcome.client_cpu:.1f} s (log-ins included) on the same CPUs",
        "",
        f"{'request':<16} {'count':>7} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7}",
    ]
    for kind in ["login", *sorted(browsing)]:
        values = tally.latencies.get(kind, [])
        rate = "" if kind == "login" else f"{len(values) / seconds:.1f}"
        p50, p99 = percentile_ms(values, 50), percentile_ms(values, 99)
        lines.append(f"{kind:<16} {len(values):>7,} {rate:>7} {p50:>7.0f} {p99:>7.0f}")
    lines += [
        "",
        f"Donations: {tally.started_donations:,} started, {len(tally.confirmed):,} thanked"
        f" (${figures['confirmed_cents'] / 100:,.2f}); in the database: {figures['made']:,} made in the run,"
        f" {figures['paid']:,} paid (${figures['paid_cents'] / 100:,.2f})",
        "Ledger: "
        + ("MISMATCH" if problems else "every donation of the run that is paid has exactly one fund entry; sums match"),
    ]
    lines += [f"  {problem}" for problem in problems[:20]]
    lines += [f"  note, demo data from before the run: {note}" for note in outcome.notes[:5]]
    lines += [f"  5xx/error: {kind} ({count}x)" for kind, count in tally.failures.most_common(10)]
    lines += [f"  4xx: {kind} ({count}x)" for kind, count in tally.refused.most_common(10)]
    lines += [f"  not thanked: {reason} ({count}x)" for reason, count in tally.unconfirmed.most_common(5)]
    if tally.logins_failed:
        lines.append(f"  {tally.logins_failed} user(s) could not log in")
    return "\n".join(lines) + "\n"


def main() -> int:
    settings = Settings.from_env()
    workdir = Path(tempfile.mkdtemp(prefix="bookcommerce-loadtest-"))
    database_url = settings.database_url or f"sqlite:///{workdir / 'loadtest.db'}"
    env = loadtest_env(database_url, workdir)
    try:
        say("Migrating the database...")
        prepare_database(env, reset=settings.database_url is not None)
        say("Seeding the demo (flask seed demo)...")
        run_step([str(BIN / "flask"), "seed", "demo"], env)
        if settings.books:
            say(f"Adding {settings.books:,} generated books...")
            paths = workdir / "book-paths.json"
            run_step([str(BIN / "python"), "-m", "bench.database", "seed", str(settings.books), str(paths)], env)
        load_before = f"{os.getloadavg()[0]:.1f}"
        cpu_before = children_cpu()
        server, port = start_server(settings, env, workdir)
        try:
            site = read_site(database_url, port)
            before = last_donation_id(database_url)
            say(
                f"{settings.users} users ({len(site.accounts)} demo accounts, {len(site.club_slugs)} public clubs,"
                f" {len(site.book_paths):,} books) for {settings.seconds:g} s on {HOST}:{port}..."
            )
            tally, seconds, cpu_server = drive(settings, site, server.pid)
            cpu_clients = children_cpu() - cpu_before  # the client processes are reaped, gunicorn is not
        finally:
            stop(server)
        load = f"{load_before}/{os.getloadavg()[0]:.1f}"
        problems, notes, figures = check_ledger(database_url, tally.confirmed, before)
        outcome = Outcome(tally, seconds, load, cpu_clients, cpu_server, problems, notes, figures)
    finally:
        if settings.keep:
            say(f"Kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print(report(settings, outcome), end="")
    failed = bool(outcome.problems or tally.failures or tally.logins_failed)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
