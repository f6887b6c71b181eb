"""The "payments" circuit breaker against a Stripe stub that fails or hangs on demand.

The stub is a threaded pytest-httpserver (a hung answer must not hold up the next request) serving
Checkout Sessions; ``FlakyStripe.mode`` makes it answer, fail with a 500, or hang past the app's
Stripe timeout. The reader presses Pay on a saved order: after BREAKER_PAYMENTS_FAIL_MAX failures
the breaker opens and Pay answers at once with the "payments are unavailable" page, Stripe is not
called, /readyz says ``degraded`` and /metrics shows the breaker open; after the cool-down one
trial call goes through and, Stripe having recovered, the same order goes to its payment page.
"""

from __future__ import annotations

import json
import statistics
import threading
import time

import pytest
from prometheus_client import REGISTRY
from pytest_httpserver import HTTPServer
from sqlalchemy import select
from werkzeug import Response

from app import create_app
from app.breakers import breakers
from app.extensions import db
from app.models import Book, DonationStatus, Order, OrderStatus
from tests.conftest import free_port, make_config, need
from tests.donations import give, latest_donation, open_club, reader
from tests.helpers import login_as, make_user
from tests.payments.test_stripe import CHECKOUT_URL, checkout_session
from tests.payments.webhooks import stripe_settings
from tests.shop import check_out, open_shop

FAIL_MAX = 3
COOL_DOWN = 1.0
STRIPE_TIMEOUT = 0.3
HANG = 1.0  # longer than STRIPE_TIMEOUT: the app gives up first
FAST = 0.2  # the bound for an answer while the breaker is open


class FlakyStripe:
    """Stripe's Checkout Sessions endpoint, answering (``ok``), failing (``fail``) or hanging (``hang``)."""

    def __init__(self, server: HTTPServer):
        self.server = server
        self.mode = "ok"
        self.calls = 0
        self._lock = threading.Lock()
        server.expect_request("/v1/checkout/sessions", method="POST").respond_with_handler(self.answer)

    def answer(self, request):
        with self._lock:
            self.calls += 1
            mode = self.mode
        if mode == "hang":
            time.sleep(HANG)
        if mode != "ok":
            return Response('{"error": {"type": "api_error", "message": "down"}}', 500, mimetype="application/json")
        return Response(json.dumps(checkout_session()), 200, mimetype="application/json")


@pytest.fixture
def stripe_stub():
    server = HTTPServer(host="127.0.0.1", port=free_port(), threaded=True)
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()


def payments_app(base_settings, server: HTTPServer, **overrides):
    settings = {
        **base_settings,
        **stripe_settings(server),
        "STRIPE_TIMEOUT_SECONDS": STRIPE_TIMEOUT,
        "BREAKER_PAYMENTS_FAIL_MAX": FAIL_MAX,
        "BREAKER_PAYMENTS_RESET_SECONDS": COOL_DOWN,
        **overrides,
    }
    return create_app(make_config(**settings))


@pytest.fixture
def flaky(app, base_settings, stripe_stub):
    """(the app, the stub) with the breaker's settings above, on the suite's database."""
    return payments_app(base_settings, stripe_stub), FlakyStripe(stripe_stub)


def reader_with_an_order(application, stub: FlakyStripe) -> tuple:
    """A signed-in reader whose order is saved but not sent to Stripe: Stripe failed at its Pay
    (the breaker's first failure)."""
    from tests.factories import make_book

    with application.app_context():
        make_user(email="reader@example.com")
        open_shop()
        book = make_book(title="Emma")
        book_id = book.id
    client = application.test_client()
    assert login_as(client).status_code in (302, 303)
    assert client.post("/cart/add", data={"book_id": str(book_id), "quantity": "1"}).status_code == 303
    stub.mode = "fail"
    response = check_out(client)
    assert response.status_code == 303 and "/orders/" in response.headers["Location"]
    with application.app_context():
        order_id = db.session.scalars(select(Order.id)).one()
    return client, order_id


def press_pay(client, order_id: int):
    return client.post(f"/orders/{order_id}/pay")


def timed(call):
    started = time.perf_counter()
    response = call()
    return response, time.perf_counter() - started


def transitions(from_state: str, to_state: str) -> float:
    labels = {"breaker": "payments", "from_state": from_state, "to_state": to_state}
    return REGISTRY.get_sample_value("bookcommerce_circuit_breaker_transitions_total", labels) or 0.0


def readyz(application) -> dict:
    response = application.test_client().get("/readyz")
    assert response.status_code == 200  # degraded is still ready: pages and browsing work
    return response.get_json()


def breaker_gauge(application, state: str) -> str:
    body = application.test_client().get("/metrics").get_data(as_text=True)
    line = f'bookcommerce_circuit_breaker_state{{breaker="payments",state="{state}"}}'
    return next(row.rsplit(" ", 1)[1] for row in body.splitlines() if row.startswith(line))


def trip(client, order_id: int, stub: FlakyStripe, mode: str) -> None:
    """Pay fails until FAIL_MAX failures in a row (Stripe failing or hanging): each is the usual "try again"."""
    stub.mode = mode
    for _ in range(FAIL_MAX - 1):  # the checkout that saved the order failed first
        response = press_pay(client, order_id)
        assert response.status_code == 303  # back to the order, with "could not reach the payment service"
        assert response.headers["Location"].endswith(f"/orders/{order_id}")


def assert_fails_fast_while_open(application, client, order_id: int, stub: FlakyStripe) -> None:
    calls_before = stub.calls
    answers = [timed(lambda: press_pay(client, order_id)) for _ in range(3)]
    for response, _ in answers:
        assert response.status_code == 503
        page = response.get_data(as_text=True)
        assert "Payments are unavailable for a minute" in page
        assert f'href="/orders/{order_id}"' in page  # the saved order, to pay later
        assert 1 <= int(response.headers["Retry-After"]) <= breakers(application).settings["payments"][1] + 1
    # Wall clock on a shared machine: the median of three, each of which never reached Stripe.
    assert statistics.median(elapsed for _, elapsed in answers) < FAST
    assert stub.calls == calls_before
    with application.app_context():
        order = db.session.get(Order, order_id)
        assert order.status == OrderStatus.PENDING  # nothing saved is lost


@pytest.mark.parametrize("mode", ["fail", "hang"])
def test_the_breaker_opens_fails_fast_and_closes_when_stripe_recovers(flaky, mode):
    application, stub = flaky
    client, order_id = reader_with_an_order(application, stub)
    opened, half_opened, closed = (
        transitions("closed", "open"),
        transitions("open", "half-open"),
        transitions("half-open", "closed"),
    )

    trip(client, order_id, stub, mode)

    assert stub.calls == FAIL_MAX  # the checkout, then each failed Pay reached Stripe
    assert_fails_fast_while_open(application, client, order_id, stub)
    health = readyz(application)
    assert health["status"] == "degraded" and health["breakers"]["payments"] == "open"
    assert breaker_gauge(application, "open") == "1.0"
    assert transitions("closed", "open") == opened + 1

    stub.mode = "ok"
    time.sleep(COOL_DOWN + 0.1)
    response = press_pay(client, order_id)  # the one trial call

    assert response.status_code == 303 and response.headers["Location"] == CHECKOUT_URL
    assert readyz(application)["status"] == "ok"
    assert breaker_gauge(application, "closed") == "1.0"
    assert (transitions("open", "half-open"), transitions("half-open", "closed")) == (half_opened + 1, closed + 1)
    with application.app_context():
        assert db.session.scalars(select(Order)).one().id == order_id  # the same order, paid from its page


def test_an_order_placed_while_payments_are_unavailable_is_saved_and_paid_later(flaky):
    application, stub = flaky
    client, first = reader_with_an_order(application, stub)
    trip(client, first, stub, "fail")
    with application.app_context():
        book_id = db.session.scalars(select(Book.id)).one()
    assert client.post("/cart/add", data={"book_id": str(book_id), "quantity": "1"}).status_code == 303

    response = check_out(client)

    assert response.status_code == 503
    with application.app_context():
        second = db.session.scalars(select(Order).where(Order.id != first)).one()
        assert second.status == OrderStatus.PENDING
    assert f'href="/orders/{second.id}"' in response.get_data(as_text=True)
    stub.mode = "ok"
    time.sleep(COOL_DOWN + 0.1)
    assert press_pay(client, second.id).headers["Location"] == CHECKOUT_URL


def test_a_donation_given_while_payments_are_unavailable_is_saved_and_paid_later(flaky):
    application, stub = flaky
    slug = open_club(application, goal_cents=50_000)
    donor = reader(application, "donor@example.com", "Dora Donor")
    stub.mode = "fail"
    for _ in range(FAIL_MAX):
        assert give(donor, slug, "15").status_code == 303  # saved, "could not reach the payment service"

    response = give(donor, slug, "15")

    donation = latest_donation(application)
    assert response.status_code == 503 and donation.status == DonationStatus.PENDING
    assert f'href="/donations/{donation.id}"' in response.get_data(as_text=True)
    assert "your donation is saved" in response.get_data(as_text=True).lower()
    stub.mode = "ok"
    time.sleep(COOL_DOWN + 0.1)
    assert donor.post(f"/donations/{donation.id}/pay").headers["Location"] == CHECKOUT_URL


def test_a_failed_trial_call_opens_the_breaker_again(flaky):
    application, stub = flaky
    client, order_id = reader_with_an_order(application, stub)
    trip(client, order_id, stub, "fail")
    time.sleep(COOL_DOWN + 0.1)

    calls_before = stub.calls
    assert press_pay(client, order_id).status_code == 303  # the trial call reached Stripe and failed
    assert stub.calls == calls_before + 1

    assert press_pay(client, order_id).status_code == 503  # open again, for another cool-down
    assert stub.calls == calls_before + 1
    assert readyz(application)["breakers"]["payments"] == "open"


def test_a_refused_card_or_request_does_not_count(flaky, stripe_stub):
    """A 4xx is Stripe answering about our request: the breaker stays closed however many there are."""
    application, stub = flaky
    client, order_id = reader_with_an_order(application, stub)
    stripe_stub.clear()
    stripe_stub.expect_request("/v1/checkout/sessions", method="POST").respond_with_json(
        {"error": {"type": "invalid_request_error", "message": "No such price"}}, status=400
    )
    for _ in range(FAIL_MAX + 1):
        assert press_pay(client, order_id).status_code == 303
    with application.app_context():
        assert breakers().state("payments") == "closed"


def test_the_api_answers_problem_details_while_payments_are_unavailable(flaky):
    """A view that lets the open breaker through answers 503 problem+json under /api/ (the
    donation endpoint itself answers 201 with ``checkout_url: null``, its documented contract)."""
    from app.errors import handle_payments_unavailable
    from app.payments.gateway import PaymentsUnavailable

    application, _ = flaky
    with application.test_request_context("/api/v1/anything"):
        response = handle_payments_unavailable(PaymentsUnavailable(42))
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    assert response.headers["Retry-After"] == "42"
    assert "Payments are unavailable" in response.get_json()["detail"]


# ---- Two app instances sharing the breaker through Redis ---------------------------------------


def test_two_instances_share_the_breaker_through_redis(app, base_settings, stripe_stub, redis_url):
    url, why = redis_url
    need("Redis", url is not None, why)
    import redis

    redis.Redis.from_url(url).flushdb()
    # Redis keeps the opening time in whole seconds: a longer cool-down, so it is not over too soon.
    cool_down = 3
    shared = {"REDIS_URL": url, "RATELIMIT_STORAGE_URI": url, "BREAKER_PAYMENTS_RESET_SECONDS": cool_down}
    first = payments_app(base_settings, stripe_stub, **shared)
    second = payments_app(base_settings, stripe_stub, **shared)
    stub = FlakyStripe(stripe_stub)
    try:
        client, order_id = reader_with_an_order(first, stub)
        trip(client, order_id, stub, "fail")  # the failures happen on the first instance

        # The second instance never called Stripe, yet it knows: it fails fast and says so.
        other_client = second.test_client()
        assert login_as(other_client).status_code in (302, 303)
        assert readyz(second)["breakers"]["payments"] == "open"
        assert_fails_fast_while_open(second, other_client, order_id, stub)
        assert redis.Redis.from_url(url).get("bookcommerce:breaker:payments:pybreaker:state") == b"open"

        stub.mode = "ok"
        time.sleep(cool_down + 1.1)
        assert press_pay(other_client, order_id).headers["Location"] == CHECKOUT_URL  # the trial, on the second
        assert readyz(first)["breakers"]["payments"] == "closed"  # and the first sees it closed
        assert press_pay(client, order_id).headers["Location"] == CHECKOUT_URL
    finally:
        redis.Redis.from_url(url).flushdb()
