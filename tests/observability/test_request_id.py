"""Request ids: echoed to the client, kept on jobs, on every log line of the work they cause."""

import logging
import re

import pytest
from rq import Queue

from app.jobs import enqueue, redis_connection, run_worker
from app.observability.request_id import RequestIdFilter, current_request_id
from tests.helpers import register_user

log = logging.getLogger(__name__)
NEW_ID = re.compile(r"[0-9a-f]{32}")


def report_request_id() -> str | None:
    """A job (importable by the worker) that logs and says which request it belongs to."""
    log.info("working for a request")
    return current_request_id()


@pytest.fixture
def request_ids_in_caplog(caplog):
    """caplog's handler with the app's filter, as the app's own handler has it."""
    caplog.set_level(logging.INFO)
    request_filter = RequestIdFilter()
    caplog.handler.addFilter(request_filter)
    yield caplog
    caplog.handler.removeFilter(request_filter)


def test_the_request_id_a_client_sends_comes_back(client):
    response = client.get("/", headers={"X-Request-ID": "checkout-7f3a.retry_2"})
    assert response.headers["X-Request-ID"] == "checkout-7f3a.retry_2"


def test_a_request_without_an_id_gets_a_new_one(client):
    first = client.get("/").headers["X-Request-ID"]
    second = client.get("/no-such-page").headers["X-Request-ID"]
    assert NEW_ID.fullmatch(first) and NEW_ID.fullmatch(second) and first != second


@pytest.mark.parametrize("unsafe", ["two words", "x" * 65, "<script>", "a/b%0d%0a", "é"])
def test_an_unsafe_request_id_is_replaced(client, unsafe):
    echoed = client.get("/", headers={"X-Request-ID": unsafe}).headers["X-Request-ID"]
    assert NEW_ID.fullmatch(echoed)


def test_an_inline_job_logs_under_the_request_that_ran_it(client, inbox, request_ids_in_caplog):
    register_user(client, email="inline@example.com", **{"X-Request-ID": "signup-inline-1"})
    inbox.wait_for("inline@example.com")
    sent = [r for r in request_ids_in_caplog.records if r.name == "app.notifications.email"]
    assert sent and {r.request_id for r in sent} == {"signup-inline-1"}


@pytest.mark.redis
def test_a_queued_job_keeps_the_request_id_in_its_meta(redis_app):
    register_user(redis_app.test_client(), email="queued@example.com", **{"X-Request-ID": "signup-queued-1"})
    with redis_app.app_context():
        [job] = Queue("mail", connection=redis_connection()).jobs
    assert job.meta["request_id"] == "signup-queued-1"


@pytest.mark.redis
@pytest.mark.parametrize("simple", [True, False], ids=["simple-worker", "forking-worker"])
def test_the_worker_runs_a_job_under_its_request_id(redis_app, simple, request_ids_in_caplog):
    with redis_app.test_request_context(headers={"X-Request-ID": "report-42"}):
        job = enqueue(report_request_id)
    run_worker(redis_app, ["default"], burst=True, simple=simple)
    assert job.return_value(refresh=True) == "report-42"
    if simple:  # the forked work horse logs in another process, out of caplog's reach
        [line] = [r for r in request_ids_in_caplog.records if r.getMessage() == "working for a request"]
        assert line.request_id == "report-42"
    assert current_request_id() is None  # nothing leaks out of the job


def test_outside_requests_and_jobs_there_is_no_request_id(app):
    with app.app_context():
        assert current_request_id() is None
