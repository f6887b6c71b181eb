"""Scoring at scale: one contest over 10,000 clubs and 10,000,000 donation rows, on PostgreSQL.

Run with ``python -m bench.scoring`` (``bench/run.py`` calls ``run()``). It uses
BENCH_SCORING_DATABASE_URL (default: a ``bench_scoring`` database on the local PostgreSQL, created
if missing) and EMPTIES it. Results emails go to the mail queue on BENCH_SCORING_REDIS_URL (default
Redis db 12, which it FLUSHES), as in production. Prints how long the standings query and the whole
scoring job (``score_contest``, the real job function) take, and the job's CPU time in this
process (steadier than wall time on a shared machine). BENCH_SCORING_CLUBS and
BENCH_SCORING_DONATIONS change the size; BENCH_SCORING_EXPLAIN=1 adds the query's EXPLAIN ANALYZE;
BENCH_SCORING_PROFILE=path runs the job under cProfile and writes its stats there;
BENCH_SCORING_REUSE=1 keeps the rows of the last run (see ``_reuse``).

The rows are generated inside PostgreSQL into the real, migrated tables. As a restore does, the
donations table's secondary indexes, unique and foreign-key constraints are dropped for the fill
and recreated after it from their own definitions (the schema is checked to be the same again),
then the table is vacuumed and analysed, as autovacuum would have done to an older table.
"""

from __future__ import annotations

import os
import re
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/bench_scoring"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/12"
TARGET_SECONDS = 10.0
FILL_WORKERS = 2  # connections that insert donations side by side


def _sizes() -> tuple[int, int]:
    return (
        int(os.environ.get("BENCH_SCORING_CLUBS", 10_000)),
        int(os.environ.get("BENCH_SCORING_DONATIONS", 10_000_000)),
    )


def ensure_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[-1]
    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def _donation_rows(first: int, last: int, clubs: int, starts: datetime, seconds: int) -> str:
    """Donations first..last: mostly paid, some refunded (whole or half), failed or pending; paid_at
    spread over the window and two days either side of it."""
    return f"""
        INSERT INTO donations (club_id, user_id, amount_cents, currency, message, anonymous, status, gateway,
                               checkout_attempt, refunded_cents, paid_at, created_at, updated_at)
        SELECT c0 + (g % {clubs})::int, u0 + (g % {clubs * 3})::int, amount,
               'usd', '', g % 5 = 0,
               CASE WHEN g % 50 = 0 OR g % 41 = 0 THEN 'refunded' WHEN g % 97 = 0 THEN 'failed'
                    WHEN g % 89 = 0 THEN 'pending' ELSE 'paid' END,
               'simulated', 1,
               CASE WHEN g % 50 = 0 THEN amount WHEN g % 41 = 0 THEN amount / 2 ELSE 0 END,
               CASE WHEN g % 97 = 0 OR g % 89 = 0 THEN NULL
                    ELSE timestamptz '{starts.isoformat()}'
                         + ((g * 104729) % ({seconds} + 86400 * 4) - 86400 * 2) * interval '1 second' END,
               now(), now()
        FROM (SELECT g, (100 + (g * 7919) % 10000)::int AS amount
              FROM generate_series({first}::bigint, {last}::bigint) g) s,
             (SELECT min(id) AS c0 FROM clubs) c, (SELECT min(id) AS u0 FROM users) u"""


def _donation_schema(conn) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(unique and foreign-key constraints, other secondary indexes) of donations, as DDL."""
    constraints = conn.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE conrelid = 'donations'::regclass AND contype IN ('u', 'f') ORDER BY contype DESC, conname"
    ).fetchall()
    indexes = conn.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'donations' AND indexname NOT IN"
        " (SELECT conname FROM pg_constraint WHERE conrelid = 'donations'::regclass) ORDER BY indexname"
    ).fetchall()
    return constraints, indexes


def _normal(schema) -> tuple:
    """Definitions compared without casts and parentheses: PostgreSQL prints a re-created partial
    index's WHERE with its casts in other places than the migration's, for the same predicate."""
    return tuple(
        [(name, re.sub(r"[()]", "", re.sub(r"::(character varying|text)(\[\])?", "", ddl))) for name, ddl in part]
        for part in schema
    )


def fill(url: str, contest_id: int, starts: datetime, ends: datetime) -> str:
    """Clubs, owners, members, entries and donations, generated inside PostgreSQL. Returns timings."""
    import psycopg

    clubs, donations = _sizes()
    seconds = int((ends - starts).total_seconds())
    times = {}
    t0 = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"""INSERT INTO users (email, name, password_hash, time_zone, bio, is_admin, is_disabled,
                                           session_version, created_at, updated_at)
            SELECT 'bench' || g || '@example.com', 'Reader ' || g, '!', 'UTC', '', false, false, 1, now(), now()
            FROM generate_series(1, {clubs * 3}) g""")
        conn.execute(f"""INSERT INTO clubs (name, name_key, slug, description, city, region, country, visibility,
                                           donation_goal_cents, settings, fund_version, created_at, updated_at)
            SELECT 'Club ' || g, 'club ' || g || '|city ' || (g % 50), 'club-' || g, '', 'City ' || (g % 50), '',
                   'Country', 'public', 0, '{{}}', 0, now(), now()
            FROM generate_series(1, {clubs}) g""")
        # Three members per club, all active but every 7th club's third, who left.
        conn.execute("""INSERT INTO memberships (club_id, user_id, role, status, joined_at, details)
            SELECT c.id, u.id, CASE WHEN u.id % 3 = 1 THEN 'owner' ELSE 'member' END,
                   CASE WHEN u.id % 3 = 0 AND c.id % 7 = 0 THEN 'left' ELSE 'active' END, now(), '{}'
            FROM clubs c JOIN users u ON (u.id - 1) / 3 = c.id - (SELECT min(id) FROM clubs)""")
        conn.execute(
            f"INSERT INTO contest_entries (contest_id, club_id, entered_at) SELECT {contest_id}, id, now() FROM clubs"
        )
        constraints, indexes = _donation_schema(conn)
        for name, _ in constraints:
            conn.execute(f"ALTER TABLE donations DROP CONSTRAINT {name}")
        for name, _ in indexes:
            conn.execute(f"DROP INDEX {name}")
    times["setup"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    step = -(-donations // FILL_WORKERS)
    ranges = [(first, min(first + step - 1, donations)) for first in range(1, donations + 1, step)]

    def insert(bounds: tuple[int, int]) -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(_donation_rows(bounds[0], bounds[1], clubs, starts, seconds))

    with ThreadPoolExecutor(FILL_WORKERS) as pool:
        list(pool.map(insert, ranges))
    times["insert"] = time.perf_counter() - t0

    # The indexes (and the unique constraints' indexes) build side by side: CREATE INDEX takes a
    # SHARE lock, which does not block another. Then the constraints take them over, and the
    # foreign keys are checked, one at a time.
    t0 = time.perf_counter()
    unique = [(name, ddl) for name, ddl in constraints if ddl.startswith("UNIQUE")]
    builds = [ddl for _, ddl in indexes] + [
        f"CREATE UNIQUE INDEX {name} ON donations {ddl.removeprefix('UNIQUE ')}" for name, ddl in unique
    ]

    def build(ddl: str) -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("SET maintenance_work_mem = '256MB'")  # this session's index build only
            conn.execute(ddl)

    with ThreadPoolExecutor(FILL_WORKERS) as pool:
        list(pool.map(build, builds))
    with psycopg.connect(url, autocommit=True) as conn:
        for name, ddl in constraints:
            taken_over = f"UNIQUE USING INDEX {name}" if (name, ddl) in unique else ddl
            conn.execute(f"ALTER TABLE donations ADD CONSTRAINT {name} {taken_over}")
        times["indexes"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        conn.execute("VACUUM (ANALYZE) donations")
        conn.execute("ANALYZE")
        times["vacuum"] = time.perf_counter() - t0
        rebuilt = _donation_schema(conn)
        if _normal(rebuilt) != _normal((constraints, indexes)):
            raise RuntimeError(f"donations differs from the migrated schema: {rebuilt} != {(constraints, indexes)}")
        steps = ", ".join(f"{what} {seconds:.1f} s" for what, seconds in times.items())
    print(f"filled: {steps}", file=sys.stderr)
    return steps


def explain(contest) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of the standings query the scoring job runs."""
    from app.contests.scoring import standings_query
    from app.extensions import db

    statement = standings_query(contest)
    compiled = statement.compile(dialect=db.engine.dialect, compile_kwargs={"render_postcompile": True})
    connection = db.session.connection()
    rows = connection.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + str(compiled), compiled.params).all()
    db.session.rollback()
    return "\n".join(row[0] for row in rows)


class _Environment:
    """Set environment variables for the run and put the previous values back afterwards."""

    def __init__(self, **values: str | None):
        self.values = values
        self.saved = {name: os.environ.get(name) for name in values}

    def __enter__(self):
        for name, value in self.values.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        return self

    def __exit__(self, *exc):
        for name, value in self.saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def run() -> tuple[str, bool]:
    """Fill the database, time the standings query and the scoring job; (report text, target met)."""
    url = os.environ.get("BENCH_SCORING_DATABASE_URL") or DEFAULT_URL
    ensure_database(url)
    redis_url = os.environ.get("BENCH_SCORING_REDIS_URL", DEFAULT_REDIS_URL)
    try:
        import redis

        redis.Redis.from_url(redis_url, socket_connect_timeout=1).flushdb()
    except Exception:
        redis_url = None
    outbox = tempfile.mkdtemp(prefix="bench-outbox-")
    with _Environment(DATABASE_URL=url, REDIS_URL=redis_url, OUTBOX_DIR=outbox, MAIL_SERVER=None):
        return _measure(url, redis_url, outbox)


def _fresh(url, upgrade, text, db) -> tuple[int, float, str]:
    """An empty, migrated schema with a finished contest window, filled; (contest id, seconds, steps)."""
    from app.contests.services import create_contest
    from app.models import ContestKind, Metric

    db.session.execute(text("DROP SCHEMA public CASCADE"))
    db.session.execute(text("CREATE SCHEMA public"))
    db.session.commit()
    upgrade(directory=str(ROOT / "migrations"))
    now = datetime.now(UTC)
    starts, ends = now - timedelta(days=30), now - timedelta(minutes=1)
    contest = create_contest(
        title="Bench fundraiser",
        kind=ContestKind.CLUBS,
        metric=Metric.MONEY_DONATED,
        starts_at=starts,
        ends_at=ends,
        provisional_hours=0,
    )
    contest.status = "open"
    db.session.commit()
    contest_id = contest.id
    db.session.close()
    t0 = time.perf_counter()
    steps = fill(url.replace("postgresql+psycopg://", "postgresql://"), contest_id, starts, ends)
    return contest_id, time.perf_counter() - t0, steps


def _reuse(upgrade, text, db) -> tuple[int, float, str]:
    """BENCH_SCORING_REUSE=1 (for working on the scoring code): keep the rows of the last run, apply any
    new migration, and open its contest again, without its standings and emails."""
    upgrade(directory=str(ROOT / "migrations"))
    contest_id = db.session.execute(text("SELECT id FROM contests WHERE title = 'Bench fundraiser'")).scalar_one()
    for statement in (
        "DELETE FROM notifications",
        "DELETE FROM email_messages",
        "DELETE FROM contest_runs",
        "UPDATE contests SET status = 'open', standings = NULL, scored_at = NULL, finished_at = NULL",
    ):
        db.session.execute(text(statement))
    db.session.commit()
    return contest_id, 0.0, "rows of the last run reused"


def _timed_job(score_contest, contest_id: int) -> tuple[str, float, float]:
    """Run the scoring job; (its result, wall seconds, this process's CPU seconds). With
    BENCH_SCORING_PROFILE=path, under cProfile: the stats go to that file (``python -m pstats``)."""
    profile_path = os.environ.get("BENCH_SCORING_PROFILE")
    profiler = None
    if profile_path:
        import cProfile

        profiler = cProfile.Profile()
    cpu, t0 = time.process_time(), time.perf_counter()
    if profiler is not None:
        profiler.enable()
    result = score_contest(contest_id)
    if profiler is not None:
        profiler.disable()
    seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu
    if profiler is not None:
        profiler.dump_stats(profile_path)
        print(f"profile of the scoring job written to {profile_path}", file=sys.stderr)
    return result, seconds, cpu


def _measure(url: str, redis_url: str | None, outbox: str) -> tuple[str, bool]:
    from flask_migrate import upgrade
    from sqlalchemy import text

    from app import create_app
    from app.contests.scoring import compute_standings
    from app.contests.services import score_contest
    from app.extensions import db
    from app.models import Contest, EmailMessage

    clubs, donations = _sizes()
    app = create_app("development")
    with app.app_context():
        if os.environ.get("BENCH_SCORING_REUSE"):
            contest_id, fill_seconds, fill_steps = _reuse(upgrade, text, db)
        else:
            contest_id, fill_seconds, fill_steps = _fresh(url, upgrade, text, db)

        runs = []
        for _ in range(3):
            db.session.expire_all()
            t0 = time.perf_counter()
            standings = compute_standings(db.session.get(Contest, contest_id))
            runs.append(time.perf_counter() - t0)
            db.session.rollback()
        plan = explain(db.session.get(Contest, contest_id)) if os.environ.get("BENCH_SCORING_EXPLAIN") else ""
        result, job_seconds, job_cpu = _timed_job(score_contest, contest_id)
        winner = db.session.get(Contest, contest_id).standings["winner"]
        recorded = db.session.query(EmailMessage).count()
        if redis_url:
            import redis

            from app.jobs import get_queue

            emails = f"{recorded:,} emails recorded, {get_queue('mail').count:,} queued for the mail workers"
            redis.Redis.from_url(redis_url).flushdb()
        else:
            emails = f"{recorded:,} emails recorded, {len(list(Path(outbox).glob('*.eml'))):,} sent inline (no Redis)"

    query = statistics.median(runs)
    met = job_seconds < TARGET_SECONDS
    lines = [
        f"Scoring: {clubs:,} clubs, {donations:,} donation rows on PostgreSQL "
        f"(generated in {fill_seconds:.1f} s: {fill_steps})",
        f"  standings query (median of 3): {query:.2f} s  (best {min(runs):.2f} s) for {len(standings):,} entrants",
        f"  whole scoring job:             {job_seconds:.2f} s  ({result}; winner {winner['name']}; {emails})",
        f"  the job's own CPU time:        {job_cpu:.2f} s  (this process; load average {os.getloadavg()[0]:.1f})",
        f"  target: under {TARGET_SECONDS:.0f} s -> {'met' if met else 'NOT MET'}",
    ]
    if plan:
        lines += ["", "EXPLAIN (ANALYZE, BUFFERS) of the standings query:", plan]
    # A missed target is reported, not a failure of the run (bench/README.md); a job that did not finish is.
    return "\n".join(lines), result == "finished"


def main() -> int:
    text, ok = run()
    print("\n" + text)
    return 0 if ok and "NOT MET" not in text else 1


if __name__ == "__main__":
    sys.exit(main())
