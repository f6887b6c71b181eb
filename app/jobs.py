"""Background jobs: one way to enqueue, one way to run a worker.

With ``REDIS_URL`` set, jobs go to RQ and a worker (``make worker``) runs them, retrying with
backoff. Without it (the embedded default) the function runs at once, in the caller's process.
When Redis is configured but cannot be reached, ``enqueue`` logs a warning and runs the job
inline too, so the request succeeds and the job is not lost (jobs are idempotent).
Callers enqueue only after the transaction the job depends on has committed.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import redis
from flask import Flask, current_app
from rq import Queue, Retry
from rq.job import Job
from rq.registry import FailedJobRegistry

from app.observability.request_id import (
    RequestIdSimpleWorker,
    RequestIdWorker,
    bound_request_id,
    current_request_id,
)

log = logging.getLogger(__name__)


def redis_connection(app: Flask | None = None) -> redis.Redis | None:
    """The app's Redis client, or None on the embedded default."""
    app = app or current_app._get_current_object()
    url = app.config.get("REDIS_URL")
    if not url:
        return None
    client = app.extensions.get("redis")
    if client is None:
        client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
        app.extensions["redis"] = client
    return client


def get_queue(name: str = "default") -> Queue:
    connection = redis_connection()
    if connection is None:
        raise RuntimeError("jobs need REDIS_URL: without it they run inline and there is no queue")
    return Queue(name, connection=connection)


def enqueue(
    func: Callable[..., Any],
    *args: Any,
    queue: str = "default",
    job_id: str | None = None,
    retry: bool = True,
    **kwargs: Any,
) -> Job | None:
    """Run ``func(*args, **kwargs)`` in the background, or now when no Redis is configured.

    ``retry`` asks RQ to retry a failing job with the configured backoff (for jobs that talk to
    the outside: mail, the payment gateway). Inline runs log a failure instead of raising, so the
    request that triggered the job still succeeds; the job's own records show what went wrong.
    """
    if redis_connection() is None:
        _run_inline(func, args, kwargs)
        return None
    try:
        return queue_job(func, *args, queue=queue, job_id=job_id, retry=retry, **kwargs)
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
        # Redis is down: do the work now rather than fail the request or drop the job.
        log.warning("Redis unavailable (%s): running job %s inline instead of queueing it", exc, func.__name__)
        _run_inline(func, args, kwargs)
        return None


def queue_job(
    func: Callable[..., Any],
    *args: Any,
    queue: str = "default",
    job_id: str | None = None,
    retry: bool = True,
    **kwargs: Any,
) -> Job:
    """Put a job on RQ, with no fallback: raises when Redis is not configured or cannot be reached
    (for callers that choose their own fallback, like the mail outbox)."""
    intervals = current_app.config["JOB_RETRY_INTERVALS"]
    return get_queue(queue).enqueue(
        func,
        args=args,
        kwargs=kwargs,
        job_id=job_id,
        retry=Retry(max=len(intervals), interval=intervals) if retry else None,
        result_ttl=24 * 3600,
        failure_ttl=30 * 24 * 3600,
        meta={"request_id": current_request_id()},  # the worker logs the job under it
    )


def queue_jobs(func: Callable[..., Any], arg_lists: list[tuple], *, queue: str = "default") -> list[Job]:
    """Put one job per entry of ``arg_lists`` on RQ in a single Redis round trip, each retried like
    ``queue_job``'s. Raises like ``queue_job``."""
    intervals = current_app.config["JOB_RETRY_INTERVALS"]
    meta = {"request_id": current_request_id()}
    return get_queue(queue).enqueue_many(
        [
            Queue.prepare_data(
                func,
                args=args,
                retry=Retry(max=len(intervals), interval=intervals),
                result_ttl=24 * 3600,
                failure_ttl=30 * 24 * 3600,
                meta=dict(meta),
            )
            for args in arg_lists
        ]
    )


def _run_inline(func: Callable[..., Any], args: tuple, kwargs: dict) -> None:
    try:
        with bound_request_id(current_request_id()):
            func(*args, **kwargs)
    except Exception:
        log.exception("inline job %s failed", func.__name__)


class FreshSessionSimpleWorker(RequestIdSimpleWorker):
    """The in-process worker (``flask jobs worker --simple``): no fork per job, so each job ends by
    dropping its database session, as a forked work-horse's would end with the process."""

    def perform_job(self, job, queue, execution):  # noqa: ANN001 - RQ's signature
        from app.extensions import db

        try:
            return super().perform_job(job, queue, execution)
        finally:
            db.session.remove()


class CleanExitWorker(RequestIdWorker):
    """The forking worker (``flask jobs worker``): the work-horse ends each job by ending its
    database session and closing its connections before it exits.

    The work-horse leaves with ``os._exit``, which would cut its connection with a transaction
    still open: PostgreSQL logs an unexpected EOF, and PgBouncer has to throw the server connection
    away ("client disconnect while server was not ready") and open a new one, a new PostgreSQL
    backend, for the next job, instead of lending the next job the one this job used."""

    def perform_job(self, job, queue, execution):  # noqa: ANN001 - RQ's signature
        from app.extensions import db

        try:
            return super().perform_job(job, queue, execution)
        finally:
            db.session.remove()
            db.engine.dispose()


def run_worker(app: Flask, queues: list[str], *, burst: bool = False, simple: bool = False) -> bool:
    """Run an RQ worker inside ``app``'s context, with the scheduler (for retries and delays).

    The forked work-horse inherits the app context; it must not reuse the parent's database
    connections, so the engine's pool is dropped in the child after fork. A worker that serves
    the mail queue makes sure the outbox sweep and the daily prune of old email bodies are
    scheduled (each then schedules itself).
    """
    from app.extensions import db
    from app.notifications.outbox import schedule_sweep
    from app.notifications.retention import schedule_pruning

    with app.app_context():
        connection = redis_connection(app)
        if connection is None:
            raise RuntimeError("the worker needs REDIS_URL")
        engine = db.engine
        os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))
        if "mail" in queues:
            schedule_sweep()
            schedule_pruning()
        if not simple:
            _prepare_for_forks(queues)
        worker_class = FreshSessionSimpleWorker if simple else CleanExitWorker
        worker = worker_class([Queue(q, connection=connection) for q in queues], connection=connection)
        return worker.work(burst=burst, with_scheduler=True)


def _prepare_for_forks(queues: list[str]) -> None:
    """Do once, in the parent, what every forked work-horse would otherwise do again and throw
    away when it exits: configure the ORM's mappers and compile the mail job's statements."""
    from sqlalchemy.orm import configure_mappers

    configure_mappers()
    if "mail" in queues:
        from app.notifications.email import prepare_delivery

        prepare_delivery()


def failed_jobs(queues: list[str]) -> list[Job]:
    """Jobs that used up their retries, newest last."""
    jobs: list[Job] = []
    for name in queues:
        queue = get_queue(name)
        registry = FailedJobRegistry(queue=queue)
        jobs.extend(j for j in Job.fetch_many(registry.get_job_ids(), connection=queue.connection) if j)
    return jobs


def requeue_failed(queues: list[str], job_id: str | None = None) -> list[str]:
    """Put failed jobs back on their queue: one by id, or all of them."""
    requeued: list[str] = []
    for name in queues:
        registry = FailedJobRegistry(queue=get_queue(name))
        ids = registry.get_job_ids()
        for jid in ids:
            if job_id is None or jid == job_id:
                registry.requeue(jid)
                requeued.append(jid)
    return requeued


def schedule_in_slot(
    func: Callable[..., Any],
    name: str,
    interval: float,
    *,
    now: float | None = None,
    result_ttl: int,
    failure_ttl: int,
    queue: str = "mail",
) -> str | None:
    """Schedule ``func`` at the start of the next ``interval``-long slot (RQ's scheduler runs it;
    needs Redis), as the job ``<name>-<slot>``: workers and runs that schedule the same next slot
    make one job, not one each. None without Redis, or when Redis refused (logged)."""
    if redis_connection() is None:
        return None
    slot = int((now or time.time()) // interval) + 1
    job_id = f"{name}-{slot}"
    try:
        get_queue(queue).enqueue_at(
            datetime.fromtimestamp(slot * interval, UTC),
            func,
            job_id=job_id,
            result_ttl=result_ttl,
            failure_ttl=failure_ttl,
        )
    except Exception as exc:  # noqa: BLE001 - scheduling is best effort; the CLI command does the same
        log.warning("could not schedule %s (%s)", name, exc)
        return None
    return job_id
