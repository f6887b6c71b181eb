"""Emails per second per mail worker, on a real SMTP server, for a contest's results.

``python -m bench.mail`` (``bench/run.py`` calls ``run()``). What it does, on the real code:

- starts an aiosmtpd server on a free port whose handler counts every message by its Message-ID
  and every SMTP connection;
- builds a readers' contest with N entrants (BENCH_MAIL_EMAILS, default 10,000) in PostgreSQL
  (BENCH_MAIL_DATABASE_URL, default database ``bench_mail``, created if missing, EMPTIED), twice;
- starts 1, then 2, real ``flask jobs worker --queue mail`` processes (APP_ENV=production, Redis
  BENCH_MAIL_REDIS_URL, default db 13, FLUSHED), waits until they listen, then scores the contest
  with ``score_contest`` (what the scheduler runs): the results emails are recorded in its
  transaction and handed to the mail queue by the outbox after the commit;
- stops the workers once the server has every email, and prints emails/s per worker (from the
  scoring commit to the last message) and the wall time from the start of scoring.

ok is False when any email was lost (its Message-ID never reached the server, or its row is not
"sent") or arrived twice. The throughput targets are printed as met / NOT met.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scoring import ensure_database  # noqa: E402

EMAILS = int(os.environ.get("BENCH_MAIL_EMAILS") or 10_000)
DATABASE_URL = os.environ.get("BENCH_MAIL_DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/bench_mail"
REDIS_URL = os.environ.get("BENCH_MAIL_REDIS_URL") or "redis://127.0.0.1:6379/13"
WORKER_OPTIONS = os.environ.get("BENCH_MAIL_WORKER_OPTIONS", "").split()  # e.g. "--simple"
TARGET_PER_WORKER = 300  # emails/s, one `flask jobs worker`
TARGET_CONTEST_SECONDS = 60  # a 10,000-entrant contest's results with 2 workers
MESSAGE_ID = re.compile(rb"^Message-ID:\s*(\S+)", re.IGNORECASE | re.MULTILINE)


class CountingHandler:
    """An aiosmtpd handler that accepts everything and counts Message-IDs and connections."""

    def __init__(self) -> None:
        self.message_ids: Counter[str] = Counter()
        self.connections: set = set()
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler hook
        head = envelope.content.split(b"\r\n\r\n", 1)[0]
        found = MESSAGE_ID.search(head)
        with self._lock:
            self.message_ids[found.group(1).decode() if found else "?"] += 1
            self.connections.add(session.peer)
        return "250 OK"

    def total(self) -> int:
        return sum(self.message_ids.values())

    def reset(self) -> None:
        with self._lock:
            self.message_ids.clear()
            self.connections.clear()


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fill(db, entrants: int) -> None:
    """``entrants`` readers, each with one confirmed book (a different page count) last week."""
    from sqlalchemy import text

    db.session.execute(
        text(
            f"""INSERT INTO users (email, name, password_hash, time_zone, bio, is_admin, is_disabled,
                                   session_version, created_at, updated_at)
                SELECT 'reader' || g || '@example.com', 'Reader ' || g, '!', 'UTC', '', false, false, 1,
                       now(), now()
                FROM generate_series(1, {entrants}) g"""
        )
    )
    db.session.execute(
        text(
            """INSERT INTO reading_logs (user_id, title, author, pages, finished_on, finished_at, confirmed,
                                         flagged, created_at)
               SELECT id, 'A book', 'An author', 100 + id % 900, current_date - 7, now() - interval '7 days',
                      true, false, now()
               FROM users"""
        )
    )
    db.session.commit()


def new_contest(db, title: str) -> int:
    """An open readers' contest that ended a minute ago, entered by every reader."""
    from sqlalchemy import text

    from app.contests.services import create_contest
    from app.models import ContestKind, Metric

    now = datetime.now(UTC)
    contest = create_contest(
        title=title,
        kind=ContestKind.READERS,
        metric=Metric.PAGES_READ,
        starts_at=now - timedelta(days=30),
        ends_at=now - timedelta(minutes=1),
        provisional_hours=0,
    )
    contest.status = "open"
    db.session.commit()
    db.session.execute(
        text(f"INSERT INTO contest_entries (contest_id, user_id, entered_at) SELECT {contest.id}, id, now() FROM users")
    )
    db.session.commit()
    return contest.id


def worker_env(smtp_port: int, logs: Path) -> dict:
    return {
        **os.environ,
        "APP_ENV": "production",
        "SECRET_KEY": "bench-mail-not-a-secret-0123456789abcdef",
        "BASE_URL": "https://books.example.com",
        "ALLOW_SIMULATED_PAYMENTS": "1",
        "FLASK_APP": "wsgi:app",
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(smtp_port),
        "OUTBOX_DIR": str(logs / "outbox"),
        "INSTANCE_PATH": str(logs),
    }


def start_workers(count: int, env: dict, logs: Path) -> list[subprocess.Popen]:
    flask = Path(sys.executable).with_name("flask")
    return [
        subprocess.Popen(
            [str(flask), "jobs", "worker", "--queue", "mail", *WORKER_OPTIONS],
            cwd=ROOT,
            env=env,
            stdout=(logs / f"worker-{count}-{n}.log").open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        for n in range(count)
    ]


def cpu_seconds(processes: list[subprocess.Popen]) -> float:
    """CPU time the workers used so far, with their finished work-horses (Linux /proc)."""
    total = 0
    for process in processes:
        fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += sum(int(value) for value in fields[11:15])  # utime, stime, cutime, cstime
    return total / os.sysconf("SC_CLK_TCK")


def wait_until(condition, timeout: float, what: str, processes=()) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        for process in processes:
            if process.poll() is not None:
                raise RuntimeError(f"a worker exited ({process.returncode}) before {what}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting until {what}")
        time.sleep(0.02)


def stop_workers(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)  # warm shutdown: finish the job in hand
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def measure(app, db, handler: CountingHandler, workers: int, env: dict, logs: Path) -> dict:
    """Score a fresh contest while ``workers`` mail workers listen; time its emails to the server."""
    import redis
    from rq import Worker
    from sqlalchemy import func, select

    from app.contests.services import score_contest
    from app.models import EmailMessage

    connection = redis.Redis.from_url(REDIS_URL)
    connection.flushdb()
    contest_id = new_contest(db, f"Bench contest for {workers} worker(s)")
    handler.reset()
    processes = start_workers(workers, env, logs)
    try:
        wait_until(lambda: len(Worker.all(connection=connection)) >= workers, 60, "the workers listen", processes)
        cpu_before = cpu_seconds(processes)
        started = time.perf_counter()
        outcome = score_contest(contest_id)
        scored = time.perf_counter()
        keys = EmailMessage.idempotency_key.like(f"contest-%:{contest_id}:%")
        expected = set(db.session.scalars(select(EmailMessage.message_id).where(keys)))
        db.session.rollback()
        wait_until(lambda: handler.total() >= len(expected), 600, "every email arrived", processes)
        delivered = time.perf_counter()
        cpu = cpu_seconds(processes) - cpu_before
        time.sleep(1.0)  # a late duplicate would arrive now
    finally:
        stop_workers(processes)
    received = dict(handler.message_ids)
    sent_rows = db.session.scalar(select(func.count()).where(keys, EmailMessage.status == EmailMessage.STATUS_SENT))
    db.session.rollback()
    sending = delivered - scored
    return {
        "workers": workers,
        "outcome": outcome,
        "emails": len(expected),
        "scoring": scored - started,
        "sending": sending,
        "wall": delivered - started,
        "per_worker": len(expected) / sending / workers,
        "per_cpu_second": len(expected) / cpu if cpu else 0.0,
        "connections": len(handler.connections),
        "lost": len(expected - received.keys()) + (len(expected) - sent_rows),
        "twice": sum(1 for count in received.values() if count > 1),
        "strangers": len(received.keys() - expected),
    }


def run() -> tuple[str, bool]:
    """Run the benchmark; returns (report text, ok). ok is False if an email was lost or sent twice."""
    if DATABASE_URL.startswith("postgresql"):
        ensure_database(DATABASE_URL)
    logs = Path(tempfile.mkdtemp(prefix="bench-mail-"))
    from aiosmtpd.controller import Controller

    handler = CountingHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    env = worker_env(port, logs)
    try:
        import redis
        from flask_migrate import upgrade
        from sqlalchemy import text

        from app import create_app
        from app.extensions import db
        from config import ProductionConfig

        # The settings the workers get from their environment, given to this process's app directly
        # (config.py read the environment when it was first imported, perhaps by another benchmark).
        settings = type(
            "BenchMailConfig",
            (ProductionConfig,),
            {
                "SQLALCHEMY_DATABASE_URI": DATABASE_URL.replace("postgresql://", "postgresql+psycopg://", 1),
                "REDIS_URL": REDIS_URL,
                "MAIL_SERVER": "127.0.0.1",
                "MAIL_PORT": port,
                "SECRET_KEY": env["SECRET_KEY"],
                "BASE_URL": env["BASE_URL"],
                "ALLOW_SIMULATED_PAYMENTS": True,
                "OUTBOX_DIR": env["OUTBOX_DIR"],
                "INSTANCE_PATH": env["INSTANCE_PATH"],
            },
        )
        redis.Redis.from_url(REDIS_URL).flushdb()
        app = create_app(settings)
        with app.app_context():
            db.session.execute(text("DROP SCHEMA public CASCADE"))
            db.session.execute(text("CREATE SCHEMA public"))
            db.session.commit()
            upgrade(directory=str(ROOT / "migrations"))
            fill(db, EMAILS)
            batch = app.config.get("MAIL_BATCH_SIZE", 1)
            runs = [measure(app, db, handler, workers, env, logs) for workers in (1, 2)]
            db.engine.dispose()
        redis.Redis.from_url(REDIS_URL).flushdb()
    finally:
        controller.stop()

    one, two = runs
    lines = [
        "",
        f"Mail: a {EMAILS:,}-entrant contest's results through `flask jobs worker` to a local aiosmtpd "
        f"(PostgreSQL, batch {batch}, worker options {' '.join(WORKER_OPTIONS) or 'none'}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f} before)",
    ]
    for r in runs:
        lines.append(
            f"  {r['workers']} worker(s): {r['emails']:,} emails in {r['sending']:.2f} s after the scoring commit "
            f"= {r['per_worker']:,.0f} emails/s per worker ({r['per_cpu_second']:,.0f} per CPU-second of the "
            f"workers); scoring {r['scoring']:.2f} s, wall {r['wall']:.2f} s; "
            f"{r['connections']} SMTP connection(s); lost {r['lost']}, sent twice {r['twice']}"
        )
    per_worker_met = one["per_worker"] >= TARGET_PER_WORKER
    contest_met = two["wall"] < TARGET_CONTEST_SECONDS
    lines.append(
        f"  target: >= {TARGET_PER_WORKER} emails/s per worker -> {'met' if per_worker_met else 'NOT met'}; "
        f"{EMAILS:,} entrants' results with 2 workers under {TARGET_CONTEST_SECONDS} s -> "
        f"{'met' if contest_met else 'NOT met'} ({two['wall']:.1f} s)"
    )
    ok = all(r["lost"] == 0 and r["twice"] == 0 and r["strangers"] == 0 for r in runs)
    if not ok:
        lines.append("  FAILED: an email was lost or sent twice")
    return "\n".join(lines), ok


def main() -> int:
    text, ok = run()
    print(text)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
