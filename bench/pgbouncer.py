"""What a new database connection costs, straight to PostgreSQL and through PgBouncer.

``python -m bench.pgbouncer`` (by hand). The forking RQ worker opens one connection per job (the
work-horse drops the pool it inherited), so this is the part of a job PgBouncer changes: each
round connects, runs one short transaction (the SELECT and UPDATE shape of a job's claim) and
closes. PgBouncer (deploy/pgbouncer.ini, transaction mode) is started here on a free port.

Settings (environment): BENCH_CONNECT_ROUNDS=300; BENCH_CONNECT_DATABASE_URL (default
postgresql://postgres@127.0.0.1:5432/postgres; nothing is written).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.cluster import pgbouncer  # noqa: E402
from tests.conftest import free_port  # noqa: E402

ROUNDS = int(os.environ.get("BENCH_CONNECT_ROUNDS") or 300)
DATABASE_URL = os.environ.get("BENCH_CONNECT_DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/postgres"


def connect_rounds(dsn: str, rounds: int) -> tuple[float, float]:
    """(wall seconds, this process's CPU seconds) for ``rounds`` connect-query-close rounds."""
    import psycopg

    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(rounds):
        with psycopg.connect(dsn, prepare_threshold=None) as conn:
            conn.execute("SELECT 1 WHERE now() > now() - interval '1 second'").fetchone()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> int:
    port = free_port()
    process = pgbouncer.start(Path(tempfile.mkdtemp(prefix="bench-pgbouncer-")), port)
    try:
        pooled = pgbouncer.pooled_url(DATABASE_URL, port)
        connect_rounds(pooled, 5)  # PgBouncer opens its server connection once
        print(f"connect, one query, close: {ROUNDS} rounds each; load average {os.getloadavg()[0]:.1f}")
        for label, dsn in (("PostgreSQL", DATABASE_URL), ("PgBouncer", pooled)) * 2:
            wall, cpu = connect_rounds(dsn, ROUNDS)
            print(
                f"  {label:<11} {ROUNDS / wall:7,.0f} connections/s  {1000 * wall / ROUNDS:6.2f} ms each"
                f"  (client CPU {1000 * cpu / ROUNDS:5.2f} ms each)"
            )
    finally:
        process.terminate()
        process.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
