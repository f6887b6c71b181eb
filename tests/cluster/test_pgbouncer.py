"""The app through PgBouncer in transaction mode (deploy/pgbouncer.ini): nothing it needs lives in a
PostgreSQL session, and psycopg prepares no statement on the server (app/database.py)."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from app import create_app
from app.extensions import db
from app.jobs import get_queue, run_worker
from tests.cluster import pgbouncer
from tests.cluster.tasks import backend_pid
from tests.conftest import database_is_postgres, free_port, make_config, need
from tests.factories import make_books

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

QUERY = text("SELECT count(*) FROM books WHERE price_cents > :cents")


@pytest.fixture(scope="module")
def bouncer(app, tmp_path_factory):
    need("PostgreSQL", database_is_postgres(app), "set DATABASE_URL=postgresql://... to run PgBouncer in front")
    need("PgBouncer", pgbouncer.available(), "apt-get install pgbouncer")
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    port = free_port()
    process = pgbouncer.start(tmp_path_factory.mktemp("pgbouncer"), port, f"{url.host}:{url.port or 5432}")
    try:
        yield pgbouncer.pooled_url(app.config["SQLALCHEMY_DATABASE_URI"], port)
    finally:
        process.terminate()
        process.wait(timeout=10)


def pooled_app(base_settings, url: str, pgbouncer_mode: bool):
    return create_app(
        make_config(
            **{
                **base_settings,
                "SQLALCHEMY_DATABASE_URI": url,
                "DATABASE_PGBOUNCER": pgbouncer_mode,
                "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 2, "pool_pre_ping": True},
            }
        )
    )


def run_across_server_connections(application) -> None:
    """Run QUERY often on one client connection, then again while another client holds the server
    connection it ran on: PgBouncer hands the first client a different server connection."""
    with application.app_context():
        engine = db.engine
        try:
            with engine.connect() as first, engine.connect() as second:
                for cents in range(10):  # psycopg prepares a statement after its fifth run
                    first.execute(QUERY, {"cents": cents})
                    first.commit()
                second.execute(text("SELECT 1"))  # a transaction that keeps its server connection busy
                first.execute(QUERY, {"cents": 1})
                first.commit()
                second.rollback()
        finally:
            engine.dispose()


def test_queries_run_through_pgbouncer_when_it_is_declared(app, base_settings, bouncer):
    with app.app_context():
        make_books([{"title": "Emma", "price": "9.00"}])
    run_across_server_connections(pooled_app(base_settings, bouncer, pgbouncer_mode=True))


def test_without_the_setting_a_prepared_statement_breaks_under_transaction_pooling(app, base_settings, bouncer):
    """Why DATABASE_PGBOUNCER exists: the same run fails when psycopg may prepare statements."""
    with pytest.raises(Exception, match=r"prepared statement .* does not exist"):
        run_across_server_connections(pooled_app(base_settings, bouncer, pgbouncer_mode=False))


def test_forked_jobs_hand_their_server_connection_on_through_pgbouncer(app, base_settings, bouncer, redis_url):
    """Each job of the forking worker runs in a new process with a new connection. Closed cleanly,
    PgBouncer lends the next job the server connection the last one used: no new PostgreSQL
    backend per job (a work-horse that exits mid-transaction costs one each)."""
    url, why = redis_url
    need("Redis", url is not None, why)
    import redis

    redis.Redis.from_url(url).flushdb()
    application = create_app(
        make_config(
            **{
                **base_settings,
                "SQLALCHEMY_DATABASE_URI": bouncer,
                "DATABASE_PGBOUNCER": True,
                "REDIS_URL": url,
                "RATELIMIT_STORAGE_URI": url,
            }
        )
    )
    with application.app_context():
        jobs = [get_queue("default").enqueue(backend_pid) for _ in range(4)]
    try:
        run_worker(application, ["default"], burst=True)
        pids = [job.return_value(refresh=True) for job in jobs]
    finally:
        redis.Redis.from_url(url).flushdb()
    assert None not in pids
    assert len(set(pids)) == 1, pids


def test_every_new_session_plans_with_the_catalogues_page_cost(app, bouncer):
    """random_page_cost is a database setting (a migration), not a SET on the app's own connections:
    a session PgBouncer opens, or psql, or a worker's, starts with it."""
    url = make_url(bouncer).set(drivername="postgresql").render_as_string(hide_password=False)
    direct = make_url(app.config["SQLALCHEMY_DATABASE_URI"]).set(drivername="postgresql")
    for dsn in (url, direct.render_as_string(hide_password=False)):
        with psycopg.connect(dsn, prepare_threshold=None) as conn:
            assert conn.execute("SHOW random_page_cost").fetchone()[0] == "1.1"
