"""Prometheus metrics at ``/metrics``: requests, errors, background queues, money confirmed.

What is measured
    ``bookcommerce_http_requests_total{endpoint,method,status}`` and
    ``bookcommerce_http_request_duration_seconds{endpoint,status}`` (a histogram), labelled by
    Flask endpoint name (``catalogue.show``, not ``/books/42``) so one series serves every book;
    unmatched paths share the ``unmatched`` endpoint. ``bookcommerce_http_errors_total{endpoint}``
    counts 5xx answers. ``bookcommerce_payments_confirmed_total`` / ``..._cents_total`` and
    ``bookcommerce_donations_confirmed_total`` / ``..._cents_total`` move once per payment
    event applied, after its transaction commits. ``bookcommerce_payment_mismatches_total{kind}``
    counts paid events parked because their amount or currency is not what was asked. With
    ``REDIS_URL`` set, each scrape also reads
    ``bookcommerce_rq_queue_depth{queue}``, ``bookcommerce_rq_failed_jobs{queue}`` and
    ``bookcommerce_rq_up`` from Redis (a custom collector; nothing is stored in between).
    Circuit breakers (app/breakers.py): ``bookcommerce_circuit_breaker_state{breaker,state}`` is 1
    for each breaker's current state and 0 for the others, read at scrape time (with Redis, the
    state all processes share); ``bookcommerce_circuit_breaker_transitions_total{breaker,from_state,to_state}``
    counts the transitions this process made (each one is counted once, by the process that made it).

Who may read it
    With ``METRICS_TOKEN`` set: requests with ``Authorization: Bearer <METRICS_TOKEN>`` (401
    otherwise). Without it: only direct requests from 127.0.0.1 or ::1 that did not come
    through a proxy (no ``X-Forwarded-For``); everyone else gets 404, as if it did not exist.

Several gunicorn workers
    Each worker process counts on its own, so a scrape would see one random worker. Set
    ``PROMETHEUS_MULTIPROC_DIR`` to an empty directory writable by the app, in the environment
    of the gunicorn master, before it starts (prometheus-client reads it at import time, and
    the directory must be emptied on each deploy). Every process then writes its samples to
    files there and a scrape adds them up with ``MultiProcessCollector``. gunicorn's config
    should also call ``prometheus_client.multiprocess.mark_process_dead(worker.pid)`` in its
    ``child_exit`` hook, so a dead worker's live gauges are dropped.
"""

from __future__ import annotations

import hmac
import logging
import os
import time
from collections.abc import Callable, Iterator

import redis
from flask import Blueprint, Flask, Response, abort, current_app, request
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector
from rq import Queue
from rq.registry import FailedJobRegistry

from app.observability.request_id import STARTED_KEY

log = logging.getLogger(__name__)

INTERNAL_ADDRESSES = {"127.0.0.1", "::1"}
METRICS_ENDPOINT = "observability.metrics"

REQUESTS = Counter("bookcommerce_http_requests", "HTTP requests answered", ["endpoint", "method", "status"])
LATENCY = Histogram(
    "bookcommerce_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["endpoint", "status"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
ERRORS = Counter("bookcommerce_http_errors", "HTTP answers with a 5xx status", ["endpoint"])
PAYMENTS = Counter("bookcommerce_payments_confirmed", "Order payments confirmed by the gateway")
PAYMENT_CENTS = Counter("bookcommerce_payments_confirmed_cents", "Cents of order payments confirmed")
DONATIONS = Counter("bookcommerce_donations_confirmed", "Donations confirmed by the gateway")
DONATION_CENTS = Counter("bookcommerce_donations_confirmed_cents", "Cents of donations confirmed")

CONFIRMED = {"payment": (PAYMENTS, PAYMENT_CENTS), "donation": (DONATIONS, DONATION_CENTS)}
MISMATCHES = Counter(
    "bookcommerce_payment_mismatches", "Paid events parked: amount or currency not what was asked", ["kind"]
)

BREAKER_TRANSITIONS = Counter(
    "bookcommerce_circuit_breaker_transitions",
    "Circuit breaker state changes made by this process",
    ["breaker", "from_state", "to_state"],
)

bp = Blueprint("observability", __name__)


def count_breaker_transition(breaker: str, from_state: str, to_state: str) -> None:
    BREAKER_TRANSITIONS.labels(breaker=breaker, from_state=from_state, to_state=to_state).inc()


def count_after_commit(kind: str, cents: int) -> Callable[[], None]:
    """The after-commit action counting one confirmed ``payment`` or ``donation`` of ``cents``.

    Returned rather than run, so a rolled-back transaction counts nothing.
    """
    count, amount = CONFIRMED[kind]

    def count_it() -> None:
        count.inc()
        amount.inc(cents)

    return count_it


def count_mismatch_after_commit(kind: str) -> Callable[[], None]:
    """The after-commit action counting one parked payment of an ``order`` or ``donation``."""
    return lambda: MISMATCHES.labels(kind=kind).inc()


class QueueCollector:
    """RQ queue depth and failed jobs, read from Redis at scrape time."""

    def __init__(self, connection: redis.Redis, queues: list[str]):
        self.connection = connection
        self.queues = queues

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("bookcommerce_rq_up", "1 when Redis answered this scrape")
        depth = GaugeMetricFamily("bookcommerce_rq_queue_depth", "Jobs waiting in an RQ queue", labels=["queue"])
        failed = GaugeMetricFamily(
            "bookcommerce_rq_failed_jobs", "Jobs in an RQ queue's failed registry", labels=["queue"]
        )
        try:
            for name in self.queues:
                queue = Queue(name, connection=self.connection)
                depth.add_metric([name], queue.count)
                # ZCARD, not registry.count: a scrape must not run the registry's cleanup.
                failed.add_metric([name], self.connection.zcard(FailedJobRegistry(queue=queue).key))
        except redis.RedisError as exc:
            log.warning("metrics: Redis did not answer (%s)", exc.__class__.__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield from (up, depth, failed)


class BreakerCollector:
    """Each circuit breaker's state, read at scrape time (from Redis when the state is shared)."""

    STATES = ("closed", "open", "half-open")

    def __init__(self, app: Flask):
        self.app = app

    def collect(self) -> Iterator[Metric]:
        from app.breakers import NAMES, breakers

        gauge = GaugeMetricFamily(
            "bookcommerce_circuit_breaker_state",
            "1 for the state each circuit breaker is in (closed, open, half-open), else 0",
            labels=["breaker", "state"],
        )
        found = breakers(self.app)
        for name in NAMES:
            current = found.state(name)
            for state in self.STATES:
                gauge.add_metric([name, state], 1 if state == current else 0)
        yield gauge


class _ProcessMetrics:
    """This process's own metrics (the default registry), for a one-process server."""

    def collect(self) -> Iterator[Metric]:
        return REGISTRY.collect()


def scrape_registry(app: Flask) -> CollectorRegistry:
    """A registry for one scrape: the request and business metrics, plus queues when on Redis."""
    from app.jobs import redis_connection

    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        registry.register(_ProcessMetrics())
    registry.register(BreakerCollector(app))
    connection = redis_connection(app)
    if connection is not None:
        registry.register(QueueCollector(connection, app.config["RQ_QUEUES"]))
    return registry


def _bearer_token_matches(token: str) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def _is_internal() -> bool:
    # Through nginx the request carries X-Forwarded-For, even when the proxy runs on this host.
    return request.remote_addr in INTERNAL_ADDRESSES and "X-Forwarded-For" not in request.headers


@bp.get("/metrics")
def metrics() -> Response:
    token = current_app.config.get("METRICS_TOKEN")
    if token and not _bearer_token_matches(token):
        return Response("unauthorized\n", 401, {"WWW-Authenticate": 'Bearer realm="metrics"'}, mimetype="text/plain")
    if not token and not _is_internal():
        abort(404)
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))  # text or OpenMetrics
    body = encode(scrape_registry(current_app._get_current_object()))
    return Response(body, headers={"Content-Type": content_type, "Cache-Control": "no-store"})


# The labelled children of (endpoint, method, status), looked up once: ``labels()`` validates and
# locks on every call, which cost more than the counting itself.
_series: dict[tuple[str, str, int], tuple] = {}


def _request_series(endpoint: str, method: str, status: int) -> tuple:
    key = (endpoint, method, status)
    series = _series.get(key)
    if series is None:
        label = str(status)
        series = _series[key] = (
            REQUESTS.labels(endpoint=endpoint, method=method, status=label),
            LATENCY.labels(endpoint=endpoint, status=label),
            ERRORS.labels(endpoint=endpoint) if status >= 500 else None,
        )
    return series


def _record_request(response: Response) -> Response:
    endpoint = request.endpoint or "unmatched"
    if endpoint == METRICS_ENDPOINT:
        return response  # scrapes are not traffic
    count_request(endpoint, request.method, response.status_code, request.environ)
    return response


def count_request(endpoint: str, method: str, status: int, environ: dict) -> None:
    """Count an answer and its latency (also for pages answered before Flask, app/page_serving.py)."""
    count, latency, errors = _request_series(endpoint, method, status)
    count.inc()
    started = environ.get(STARTED_KEY)  # stamped by the request id middleware
    if started is not None:
        latency.observe(time.perf_counter() - started)
    if errors is not None:
        errors.inc()


def register_metrics(app: Flask) -> None:
    app.after_request(_record_request)
    app.register_blueprint(bp)
