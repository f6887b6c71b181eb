"""PostgreSQL restarts under a serving app: the next requests succeed without restarting the app.

Every pooled connection dies with the server; ``pool_pre_ping`` (on in Config) notices on checkout
and reconnects, so no request sees the dead connections. The restart runs last in this module
(pytest keeps definition order; there is no ordering plugin) and the app's pool is dropped in the
end, so the tests after it start from fresh connections.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from app.extensions import db
from tests.conftest import database_is_postgres, need
from tests.helpers import make_user

pytestmark = pytest.mark.postgres


def _cluster_version() -> str | None:
    versions = sorted(p.name for p in Path("/etc/postgresql").glob("*") if p.is_dir())
    return versions[-1] if versions else None


def restart_postgres() -> None:
    version = _cluster_version()
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    deadline = time.monotonic() + 60
    while subprocess.run(["pg_isready", "-h", "127.0.0.1", "-q"], check=False).returncode != 0:
        if time.monotonic() > deadline:
            raise AssertionError("PostgreSQL did not come back within 60 s")
        time.sleep(0.2)


def backend_pids(app) -> set[int]:
    with app.app_context():
        pids = {db.session.scalar(text("SELECT pg_backend_pid()"))}
        db.session.remove()
    return pids


@pytest.fixture
def served(app):
    """The app, with PostgreSQL and a cluster this machine can restart."""
    need("PostgreSQL", database_is_postgres(app), "set DATABASE_URL=postgresql://... to run against PostgreSQL")
    need(
        "pg_ctlcluster",
        shutil.which("pg_ctlcluster") is not None and _cluster_version() is not None,
        "the Debian postgresql-common tools and a local cluster are needed to restart the server",
    )
    with app.app_context():
        # Start from an empty pool: the pool hands out idle connections first in, first out, so
        # connections left idle by earlier tests would take turns and hide (or fake) reuse.
        db.engine.dispose()
    yield app
    with app.app_context():
        db.engine.dispose()


def test_the_app_serves_from_pooled_postgres_connections(served):
    client = served.test_client()
    for _ in range(3):
        assert client.get("/readyz").status_code == 200
    assert backend_pids(served) == backend_pids(served)  # the same pooled connection is reused


# Keep this test last in the module: it restarts the server.
def test_requests_succeed_right_after_postgres_restarts(served):
    client = served.test_client()
    with served.app_context():
        make_user(email="before@example.com")
    assert client.get("/books").status_code == 200
    assert client.get("/readyz").status_code == 200
    before = backend_pids(served)

    restart_postgres()

    # No retry: the first request after the restart already succeeds.
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.get_json()
    assert ready.get_json()["checks"]["database"] == "ok"
    assert client.get("/books").status_code == 200
    assert client.get("/clubs").status_code == 200
    with served.app_context():
        assert make_user(email="after@example.com").id is not None
    assert backend_pids(served).isdisjoint(before)  # new server processes, same app
