"""Jobs per second per worker: enqueue N email jobs on the local Redis, time a burst worker.

``python -m bench.jobs`` (run by hand; ``make bench`` does not run it). Each email job is the real
``deliver_email``: claim the row with a conditional UPDATE and commit, write the message (to
OUTBOX_DIR as an .eml file: no MAIL_SERVER here, so the SMTP round trip is not in the figure),
mark it sent and commit. The same N jobs are timed three ways:

    enqueue                    the web side: Queue.enqueue with retries, one Redis round trip each
    SimpleWorker (burst)       one worker process running the jobs in-process, one after another
    Worker (burst, forking)    what ``flask jobs worker`` runs: a fork per job, as deployed
and a no-op job under SimpleWorker, RQ's own floor.

Settings (environment): BENCH_JOBS=2000 jobs per measurement; BENCH_JOBS_DATABASE_URL (default:
a ``bench_jobs`` database on the local PostgreSQL, created if missing, EMPTIED);
BENCH_JOBS_REDIS_URL (default redis://127.0.0.1:6379/13, FLUSHED).
"""

from __future__ import annotations

import importlib
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scoring import ensure_database  # noqa: E402

JOBS = int(os.environ.get("BENCH_JOBS") or 2000)
DATABASE_URL = os.environ.get("BENCH_JOBS_DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/bench_jobs"
REDIS_URL = os.environ.get("BENCH_JOBS_REDIS_URL") or "redis://127.0.0.1:6379/13"


def noop() -> None:
    """The cheapest job there is: what RQ itself costs per job."""


def prepare(db, count: int, prefix: str) -> list[int]:
    """``count`` pending emails, as a service would have recorded them; returns their ids."""
    from app.models import EmailMessage
    from app.notifications.email import new_message_id

    body = "Thank you for your donation.\n" * 20
    rows = [
        EmailMessage(
            idempotency_key=f"{prefix}-{n}",
            message_id=new_message_id(),
            template="bench",
            recipient=f"reader{n}@example.com",
            subject="Your receipt",
            body_text=body,
            body_html=f"<p>{body}</p>",
        )
        for n in range(count)
    ]
    db.session.add_all(rows)
    db.session.commit()
    return [row.id for row in rows]


def timed(label: str, count: int, work) -> float:
    started = time.perf_counter()
    work()
    seconds = time.perf_counter() - started
    print(f"  {label:<34} {count:>6,} jobs in {seconds:6.2f} s = {count / seconds:8,.0f} jobs/s")
    return count / seconds


def main() -> int:
    if DATABASE_URL.startswith("postgresql"):
        ensure_database(DATABASE_URL)
    os.environ.update(DATABASE_URL=DATABASE_URL, REDIS_URL=REDIS_URL, OUTBOX_DIR=tempfile.mkdtemp(prefix="bench-jobs-"))
    os.environ.pop("MAIL_SERVER", None)

    import redis
    from flask_migrate import upgrade
    from sqlalchemy import func, select, text

    from app import create_app
    from app.extensions import db
    from app.jobs import enqueue, run_worker
    from app.models import EmailMessage
    from app.notifications.email import deliver_email

    redis.Redis.from_url(REDIS_URL).flushdb()
    app = create_app("development")
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("DROP SCHEMA public CASCADE"))
            db.session.execute(text("CREATE SCHEMA public"))
            db.session.commit()
        upgrade(directory=str(ROOT / "migrations"))
        print(f"RQ jobs, {JOBS:,} per measurement; {db.engine.dialect.name}, Redis {REDIS_URL}, {os.cpu_count()} CPUs")

        def enqueue_all(ids: list[int]):
            return lambda: [enqueue(deliver_email, email_id, queue="mail") for email_id in ids]

        def burst(simple: bool):
            return lambda: run_worker(app, ["mail"], burst=True, simple=simple)

        figures = {}
        timed("enqueue deliver_email", JOBS, enqueue_all(prepare(db, JOBS, "simple")))
        figures["simple"] = timed("SimpleWorker: deliver_email", JOBS, burst(simple=True))
        timed("enqueue deliver_email (again)", JOBS, enqueue_all(prepare(db, JOBS, "fork")))
        figures["fork"] = timed("Worker (forking): deliver_email", JOBS, burst(simple=False))
        job = importlib.import_module("bench.jobs").noop  # by its module's name: a worker cannot run __main__.noop
        timed("enqueue no-op", JOBS, lambda: [enqueue(job, queue="mail") for _ in range(JOBS)])
        timed("SimpleWorker: no-op", JOBS, burst(simple=True))

        sent = db.session.scalar(select(func.count()).where(EmailMessage.status == EmailMessage.STATUS_SENT))
        outbox = len(list(Path(os.environ["OUTBOX_DIR"]).glob("*.eml")))
        print(f"  sent: {sent:,} of {2 * JOBS:,} emails; {outbox:,} files in the outbox")
    redis.Redis.from_url(REDIS_URL).flushdb()
    return 0 if sent == 2 * JOBS == outbox else 1


if __name__ == "__main__":
    sys.exit(main())
