"""/metrics: what Prometheus reads after people browse, pay and donate, and who may read it."""

import pytest
from rq import Queue

from app import create_app
from app.jobs import enqueue, redis_connection, run_worker
from tests.conftest import make_config
from tests.donations import donate_and_pay, open_club, reader
from tests.factories import make_books
from tests.helpers import login_as, make_user
from tests.jobs.tasks import always_fails
from tests.observability import moved, sample, scrape
from tests.shop import check_out, open_shop

REQUESTS = "bookcommerce_http_requests_total"


def test_metrics_are_in_prometheus_text_format(client):
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    assert response.headers["Cache-Control"] == "no-store"
    text = response.get_data(as_text=True)
    assert "# TYPE bookcommerce_http_requests_total counter" in text
    assert "# TYPE bookcommerce_http_request_duration_seconds histogram" in text
    assert "# TYPE bookcommerce_payments_confirmed_total counter" in text


def test_openmetrics_is_served_to_a_scraper_that_asks_for_it(client):
    response = client.get("/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    assert response.headers["Content-Type"].startswith("application/openmetrics-text")
    assert response.get_data(as_text=True).rstrip().endswith("# EOF")


def test_requests_are_counted_by_endpoint_name_and_status(app, client):
    with app.app_context():
        book_id = make_books([{"title": "Middlemarch"}])[0].id
    before = scrape(client)
    assert client.get("/no-such-page").status_code == 404
    assert client.get("/").status_code == 200
    book_status = str(client.get(f"/books/{book_id}").status_code)  # 200, or a redirect to its slug
    assert client.get("/books/999999").status_code == 404
    after = scrape(client)

    assert moved(before, after, REQUESTS, endpoint="unmatched", method="GET", status="404") == 1
    assert moved(before, after, REQUESTS, endpoint="main.index", method="GET", status="200") == 1
    assert moved(before, after, REQUESTS, endpoint="catalogue.book", method="GET", status=book_status) == 1
    assert moved(before, after, REQUESTS, endpoint="catalogue.book", method="GET", status="404") == 1
    duration = "bookcommerce_http_request_duration_seconds_count"
    assert moved(before, after, duration, endpoint="main.index", status="200") == 1
    assert f"/books/{book_id}" not in after  # one series for every book, not one per path
    assert moved(before, after, REQUESTS, endpoint="observability.metrics") == 0  # scrapes are not traffic


@pytest.fixture(scope="module")
def fragile_app(base_settings):
    """An app with a page that breaks, answering 500 as production does (no propagation)."""
    application = create_app(make_config(**base_settings, PROPAGATE_EXCEPTIONS=False))

    def broken():
        raise RuntimeError("a bug")

    application.add_url_rule("/_test/broken", "broken", broken)
    return application


def test_a_server_error_is_counted_as_an_error(fragile_app):
    client = fragile_app.test_client()
    before = scrape(client)
    assert client.get("/_test/broken").status_code == 500
    after = scrape(client)
    assert moved(before, after, "bookcommerce_http_errors_total", endpoint="broken") == 1
    assert moved(before, after, REQUESTS, endpoint="broken", status="500") == 1


# ---- Who may read it -------------------------------------------------------------------------


def test_with_a_token_only_a_matching_bearer_may_read(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "METRICS_TOKEN", "scrape-token-0123")
    refused = client.get("/metrics")
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Basic scrape-token-0123"}).status_code == 401
    allowed = client.get(
        "/metrics",
        headers={"Authorization": "Bearer scrape-token-0123"},
        environ_base={"REMOTE_ADDR": "203.0.113.9"},
    )
    assert allowed.status_code == 200
    assert "bookcommerce_http_requests_total" in allowed.get_data(as_text=True)


def test_without_a_token_only_this_host_may_read(app, client):
    assert app.config["METRICS_TOKEN"] is None
    assert client.get("/metrics").status_code == 200  # the test client is 127.0.0.1
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 404
    # Through the proxy on the same host: the client is elsewhere.
    assert client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 404


# ---- Money confirmed -------------------------------------------------------------------------


def test_a_paid_order_moves_the_payment_counters_once(app, client):
    with app.app_context():
        book_id = make_books([{"title": "Ulysses", "price": "14.50", "stock": 3}])[0].id
        make_user()
        open_shop()
    login_as(client)
    before = scrape(client)
    assert client.post("/cart/add", data={"book_id": book_id, "quantity": 2}).status_code == 303
    session_url = check_out(client).headers["Location"]
    client.post(session_url, data={"action": "pay"})
    client.post(session_url, data={"action": "pay"})  # the gateway reports it again: counted once
    after = scrape(client)
    assert moved(before, after, "bookcommerce_payments_confirmed_total") == 1
    assert moved(before, after, "bookcommerce_payments_confirmed_cents_total") == 2900


def test_a_paid_donation_moves_the_donation_counters(app):
    slug = open_club(app)
    donor = reader(app, "donor@example.com", "Dora Donor")
    before = scrape(donor)
    donate_and_pay(donor, slug, "25")
    after = scrape(donor)
    assert moved(before, after, "bookcommerce_donations_confirmed_total") == 1
    assert moved(before, after, "bookcommerce_donations_confirmed_cents_total") == 2500


# ---- Background queues -----------------------------------------------------------------------


def test_without_redis_there_are_no_queue_gauges(client):
    assert "bookcommerce_rq_" not in scrape(client)


@pytest.mark.redis
def test_queue_depth_and_failed_jobs_are_read_from_redis(redis_app):
    client = redis_app.test_client()
    with redis_app.app_context():
        enqueue(always_fails, retry=False)
        enqueue(always_fails, retry=False)
        assert Queue("default", connection=redis_connection()).count == 2
    waiting = scrape(client)
    assert sample(waiting, "bookcommerce_rq_up") == 1
    assert sample(waiting, "bookcommerce_rq_queue_depth", queue="default") == 2
    assert sample(waiting, "bookcommerce_rq_queue_depth", queue="mail") == 0
    assert sample(waiting, "bookcommerce_rq_failed_jobs", queue="default") == 0

    run_worker(redis_app, ["default"], burst=True, simple=True)
    done = scrape(client)
    assert sample(done, "bookcommerce_rq_queue_depth", queue="default") == 0
    assert sample(done, "bookcommerce_rq_failed_jobs", queue="default") == 2
