"""Request ids: one id per request, on every log line it causes and on the jobs it enqueues.

A request keeps the ``X-Request-ID`` its client (or nginx) sent, when it is a short token
(at most 64 of ``A-Z a-z 0-9 . _ -``); anything else is replaced by a new random 128-bit hex id, so a
client cannot write arbitrary text into our logs. The id is echoed in the response's
``X-Request-ID`` header. A WSGI middleware (``RequestIdMiddleware``) assigns it before Flask sees
the request and keeps it in the WSGI environ, with the time the request arrived (the metrics'
latency starts there): one function call per request, no before/after-request hooks.
``app.jobs.enqueue`` stores it in the RQ job's ``meta``; the worker classes below put it back
(in a context variable) while the job runs.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from flask import Flask, has_request_context, request
from rq import SimpleWorker, Worker

HEADER = "X-Request-ID"
ENVIRON_KEY = "bookcommerce.request_id"
STARTED_KEY = "bookcommerce.started"
VALID_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")

# Outside a request (a job in the worker, an inline job, a CLI command) the id lives here.
_job_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)


def new_request_id() -> str:
    # 32 hex digits, as uuid4().hex gave, without building a UUID object on every request.
    return secrets.token_hex(16)


def accepted_request_id(value: str | None) -> str:
    """The client's id when it is safe to log, else a fresh one."""
    if value and VALID_ID.fullmatch(value):
        return value
    return new_request_id()


def current_request_id() -> str | None:
    """The id of the request (or of the job) being handled now; None outside both."""
    if has_request_context():
        environ = request.environ
        if ENVIRON_KEY not in environ:  # a request built without the middleware (a test's request context)
            environ[ENVIRON_KEY] = accepted_request_id(environ.get("HTTP_X_REQUEST_ID"))
        return environ[ENVIRON_KEY]
    return _job_request_id.get()


@contextmanager
def bound_request_id(request_id: str | None) -> Iterator[None]:
    """Run a job under ``request_id`` (the id of the request that enqueued it)."""
    token = _job_request_id.set(request_id)
    try:
        yield
    finally:
        _job_request_id.reset(token)


class RequestIdFilter(logging.Filter):
    """Give every record a ``request_id`` attribute ("-" when there is none)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = current_request_id() or "-"
        return True


class _RestoresRequestId:
    """Worker mixin: a job runs under the request id its enqueuer stored in ``job.meta``.

    ``perform_job`` runs in the work horse (the forked child, or the worker itself for
    SimpleWorker), around the job's function and its success or failure handling.
    """

    def perform_job(self, job, queue, execution):  # noqa: ANN001 - RQ's signature
        with bound_request_id((job.meta or {}).get("request_id")):
            return super().perform_job(job, queue, execution)


class RequestIdWorker(_RestoresRequestId, Worker):
    """The forking RQ worker, with request ids on its jobs' log lines."""


class RequestIdSimpleWorker(_RestoresRequestId, SimpleWorker):
    """The in-process RQ worker, with request ids on its jobs' log lines."""


class RequestIdMiddleware:
    """WSGI middleware: give the request its id (and its arrival time), echo the id on the answer."""

    def __init__(self, wsgi_app: Callable):
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        request_id = environ[ENVIRON_KEY] = accepted_request_id(environ.get("HTTP_X_REQUEST_ID"))
        environ[STARTED_KEY] = time.perf_counter()

        def start(status: str, headers: list[tuple[str, str]], exc_info=None):  # noqa: ANN001 - WSGI's signature
            headers.append((HEADER, request_id))
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, start)


def register_request_id(app: Flask) -> None:
    app.wsgi_app = RequestIdMiddleware(app.wsgi_app)
