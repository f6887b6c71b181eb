"""`make cluster`: the whole system on this machine, to watch. Ctrl-C stops everything.

PgBouncer, two app instances (127.0.0.2 and 127.0.0.3), two RQ workers with the scheduler and nginx
from deploy/nginx.conf, the same stack tests/cluster/ proves things about (tests/cluster/stack.py),
on the demo catalogue. Needs PostgreSQL, Redis, nginx and pgbouncer (Debian packages).

Settings (environment): CLUSTER_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/bookcommerce_cluster,
created and seeded when missing), CLUSTER_REDIS_URL (default redis://127.0.0.1:6379/0), CLUSTER_PORT
(nginx's HTTPS port, default 8170; the instances take the next one, nginx's plain HTTP the one after,
PgBouncer the fourth), CLUSTER_SITE (default localhost). Mail goes to the log and the outbox folder.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy.engine import make_url  # noqa: E402

from tests.cluster.stack import INSTANCE_ADDRESSES, Cluster  # noqa: E402


def ensure_database(url: str) -> bool:
    """Create the database when it does not exist; True when it was created."""
    parsed = make_url(url)
    args = ["-h", parsed.host or "127.0.0.1", "-p", str(parsed.port or 5432), "-U", parsed.username or "postgres"]
    exists = subprocess.run(
        ["psql", *args, "-d", "postgres", "-tAc", f"SELECT 1 FROM pg_database WHERE datname = '{parsed.database}'"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if exists:
        return False
    subprocess.run(["createdb", *args, parsed.database], check=True)
    return True


def main() -> int:
    database_url = os.environ.get("CLUSTER_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/bookcommerce_cluster")
    redis_url = os.environ.get("CLUSTER_REDIS_URL", "redis://127.0.0.1:6379/0")
    port = int(os.environ.get("CLUSTER_PORT", "8170"))
    site = os.environ.get("CLUSTER_SITE", "localhost")
    workdir = Path(tempfile.mkdtemp(prefix="bookcommerce-cluster-"))
    cluster = Cluster(
        workdir,
        database_url=database_url,
        redis_url=redis_url,
        site=site,
        https_port=port,
        app_port=port + 1,
        http_port=port + 2,
        pgbouncer_port=port + 3,
        base_url=f"https://{site}:{port}",
    )
    created = ensure_database(database_url)  # seeded once, when created (demo accounts: a local demo)
    direct = {**cluster.env(), "DATABASE_URL": database_url, "DATABASE_PGBOUNCER": ""}
    flask = str(Path(sys.executable).with_name("flask"))
    subprocess.run([flask, "db", "upgrade"], cwd=ROOT, env=direct, check=True)
    if created:
        subprocess.run([flask, "seed", "demo", "--force"], cwd=ROOT, env=direct, check=True)

    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        cluster.start()
        print(
            f"\nBook Commerce, two instances behind nginx: https://{site}:{port}/ (a self-signed certificate)\n"
            f"  instances: {', '.join(f'http://{a}:{cluster.app_port}' for a in INSTANCE_ADDRESSES)}"
            f" (through PgBouncer on 127.0.0.1:{cluster.pgbouncer_port})\n"
            f"  workers: 2, with RQ's scheduler; logs in {workdir}/ (nginx-access.log names the instance)\n"
            f"  kill one: kill -9 -{cluster.processes['web0'].pid}   Ctrl-C stops everything.\n",
            flush=True,
        )
        while True:
            for name, process in cluster.processes.items():
                if process.poll() is not None and not name.startswith("web"):
                    print(f"{name} exited with {process.returncode}; see {workdir}/{name}.log", flush=True)
                    return 1
            time.sleep(1)
    except KeyboardInterrupt:
        print("\nStopping...", flush=True)
        return 0
    finally:
        cluster.stop()


if __name__ == "__main__":
    sys.exit(main())
