"""Signed-in page speed, in process: the real app, a test client logged in as a demo reader.

    python -m bench.page_costs [N] [--profile PATH]

Needs DATABASE_URL pointing at a database with ``flask seed demo`` and the generated books
(``python -m bench.database seed 10000 OUT``), and the same settings as the server would have
(APP_ENV, SECRET_KEY, REDIS_URL for the cache in Redis). For each page it prints the status, the
SQL statements one request runs, and the mean and p50 CPU milliseconds over N requests (after 20
unmeasured ones), next to a bare ``Flask(__name__)`` hello route timed the same way. With
``--profile`` it also writes one pyinstrument HTML report per page to PATH-<page>.html.

Also prints the session cookie, for ``wrk -H "Cookie: session=..."`` against gunicorn.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import time

from flask import Flask
from sqlalchemy import event, select

from app import create_app
from app.extensions import db
from app.models import Book, Club, Contest, ContestEntry, Membership, MemberStatus, User

READER = os.environ.get("BENCH_READER", "reader@example.com")
PASSWORD = os.environ.get("BENCH_PASSWORD", "demo-password-1")


def pages_of(app: Flask) -> dict[str, str]:
    """The reader's club with the most donations, a contest they entered, and a book."""
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == READER))
        club = db.session.scalar(
            select(Club)
            .join(Membership, Membership.club_id == Club.id)
            .where(Membership.user_id == user.id, Membership.status == MemberStatus.ACTIVE)
            .order_by(Club.id)
        )
        contest = db.session.scalar(
            select(Contest)
            .join(ContestEntry, ContestEntry.contest_id == Contest.id)
            .where(ContestEntry.user_id == user.id)
            .order_by(Contest.id)
        )
        book = db.session.scalar(select(Book).where(Book.removed_at.is_(None)).order_by(Book.id.desc()))
        return {
            "books": "/books",
            "club": f"/clubs/{club.slug}",
            "contest": f"/contests/{contest.id}",
            "book": f"/books/{book.id}/{book.slug}",
        }


def log_in(client) -> str:
    form = client.get("/auth/login").get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form)
    data = {"email": READER, "password": PASSWORD, "csrf_token": match.group(1) if match else ""}
    # Production checks the Referer of an HTTPS form post (WTF_CSRF_SSL_STRICT).
    answer = client.post("/auth/login", data=data, headers={"Referer": "https://localhost/auth/login"})
    assert answer.status_code in (302, 303), f"log in failed: {answer.status_code}"
    cookie = client.get_cookie("session")
    return cookie.value if cookie else ""


def timed(client, path: str, n: int) -> list[float]:
    """Milliseconds of this process's CPU per request (wall time is at the mercy of a busy
    machine; the CPU a request costs is what limits a sync worker's throughput)."""
    for _ in range(20):
        client.get(path)
    times = []
    for _ in range(n):
        started = time.process_time()
        answer = client.get(path)
        times.append((time.process_time() - started) * 1000)
        assert answer.status_code == 200, (path, answer.status_code)
    return times


def count_statements(app: Flask, client, path: str) -> tuple[int, int]:
    statements = []

    def before(conn, cursor, statement, *args):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        status = client.get(path).status_code
    finally:
        event.remove(engine, "before_cursor_execute", before)
    return status, len(statements)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.pages")
    parser.add_argument("n", type=int, nargs="?", default=300)
    parser.add_argument("--profile", default="")
    args = parser.parse_args()

    hello = Flask(__name__)
    hello.get("/")(lambda: "hello")
    hello_ms = statistics.mean(timed(hello.test_client(), "/", args.n))

    app = create_app()
    client = app.test_client()
    cookie = log_in(client)
    print(f"session cookie: {cookie}")
    print(f"{'page':<8} {'path':<48} {'status':>6} {'queries':>7} {'cpu ms':>8} {'p50':>7} {'vs hello':>8}")
    print(f"{'hello':<8} {'/':<48} {200:>6} {0:>7} {hello_ms:>8.2f} {'':>7} {1:>8.2f}")
    for name, path in pages_of(app).items():
        client.get(path)  # the first request fills the caches
        status, queries = count_statements(app, client, path)
        times = timed(client, path, args.n)
        mean = statistics.mean(times)
        row = f"{name:<8} {path:<48} {status:>6} {queries:>7} {mean:>8.2f} {statistics.median(times):>7.2f}"
        print(f"{row} {hello_ms / mean:>8.3f}")
        if args.profile:
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.0002)
            profiler.start()
            for _ in range(args.n):
                client.get(path)
            profiler.stop()
            with open(f"{args.profile}-{name}.html", "w") as out:
                out.write(profiler.output_html())
            with open(f"{args.profile}-{name}.txt", "w") as out:
                out.write(profiler.output_text(unicode=False, color=False, show_all=False))


if __name__ == "__main__":
    main()
