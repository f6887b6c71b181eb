"""Paying with Stripe: checkout against a local Stripe stub, webhooks signed with the real secret.

The Stripe API is a pytest-httpserver stub (stripe-mock cannot run here); the adapter talks to it
with the real ``stripe.StripeClient``. Webhook payloads are signed with stripe-python's own helper
(tests/payments/webhooks.py) and verified by the app exactly as in production.
"""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs

import pytest
from sqlalchemy import func, select

from app.catalogue.services import book_data_from_row, upsert_books
from app.extensions import db
from app.models import Book, Order, OrderStatus, PaymentEvent
from app.payments.gateway import GatewayError
from app.payments.stripe_gateway import StripeGateway
from tests.conftest import free_port
from tests.helpers import login_as, make_user
from tests.payments.webhooks import STRIPE_KEY, WEBHOOK, WEBHOOK_SECRET, deliver, signature, stripe_event
from tests.shop import check_out as steps_then_pay
from tests.shop import open_shop

BUYER = "buyer@example.com"
ISBN = "9780261103573"
PRICE_CENTS = 1299
STOCK = 5
COPIES = 2
SESSION_ID = "cs_test_1"
CHECKOUT_URL = "https://checkout.stripe.test/c/cs_test_1"


# ---- The book, the buyer and the stub (``stripe_app`` is in tests/conftest.py) ------------------


@pytest.fixture
def book_id(stripe_app) -> int:
    with stripe_app.app_context():
        upsert_books(
            [
                book_data_from_row(
                    {
                        "isbn": ISBN,
                        "title": "The Fellowship of the Ring",
                        "authors": "J. R. R. Tolkien",
                        "price_cents": PRICE_CENTS,
                        "stock": STOCK,
                    }
                )
            ]
        )
        return db.session.scalar(select(Book.id).where(Book.isbn13 == ISBN))


@pytest.fixture
def buyer(stripe_app, book_id):
    """A verified reader, logged in, with two copies of the book in the cart."""
    with stripe_app.app_context():
        make_user(email=BUYER, name="Bea Buyer")
        open_shop()
    client = stripe_app.test_client()
    assert login_as(client, email=BUYER).status_code in (302, 303)
    response = client.post("/cart/add", data={"book_id": str(book_id), "quantity": str(COPIES)})
    assert response.status_code == 303
    return client


def checkout_session(session_id: str = SESSION_ID, url: str = CHECKOUT_URL) -> dict:
    return {
        "id": session_id,
        "object": "checkout.session",
        "url": url,
        "mode": "payment",
        "status": "open",
        "payment_status": "unpaid",
        "payment_intent": None,
        "livemode": False,
    }


def stripe_error(status: int) -> dict:
    if status == 402:
        return {"error": {"type": "card_error", "code": "card_declined", "message": "Your card was declined."}}
    return {"error": {"type": "api_error", "message": "An unexpected error occurred."}}


def stub_sessions(httpserver, session_id: str = SESSION_ID, url: str = CHECKOUT_URL) -> None:
    httpserver.expect_request("/v1/checkout/sessions", method="POST").respond_with_json(
        checkout_session(session_id, url)
    )


def stub_session_error_once(httpserver, status: int) -> None:
    httpserver.expect_oneshot_request("/v1/checkout/sessions", method="POST").respond_with_json(
        stripe_error(status), status=status, headers={"Request-Id": f"req_{status}"}
    )


def stripe_adapter(httpserver) -> StripeGateway:
    """The Stripe adapter pointed at the stub, without retries."""
    return StripeGateway(STRIPE_KEY, WEBHOOK_SECRET, api_base=httpserver.url_for("").rstrip("/"), retries=0)


def session_requests(httpserver) -> list:
    return [request for request, _ in httpserver.log if request.path == "/v1/checkout/sessions"]


# ---- A reader's actions -----------------------------------------------------------------------


def check_out(client, **headers):
    """Through the checkout steps (a US address, free standard shipping, no tax), then Pay."""
    return steps_then_pay(client, **headers)


def pay_again(client, order_id: int):
    return client.post(f"/orders/{order_id}/pay")


def the_order(stripe_app) -> Order:
    """The only order, read fresh (its columns stay readable after the context ends)."""
    with stripe_app.app_context():
        return db.session.scalars(select(Order)).one()


def stock_of(stripe_app, book_id: int) -> int:
    with stripe_app.app_context():
        return db.session.get(Book, book_id).stock


def payment_event_count(stripe_app) -> int:
    with stripe_app.app_context():
        return db.session.scalar(select(func.count()).select_from(PaymentEvent))


def order_page(client, order_id: int) -> str:
    response = client.get(f"/orders/{order_id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def emails_about(inbox, subject_part: str) -> list:
    return [m for m in inbox.to(BUYER) if subject_part in m["Subject"]]


def order_at_checkout(stripe_app, buyer, httpserver) -> Order:
    """Check out through the web flow so the order carries the stub's session id."""
    stub_sessions(httpserver)
    assert check_out(buyer).status_code == 303
    return the_order(stripe_app)


# ---- Events as Stripe sends them --------------------------------------------------------------


def session_object(order: Order, payment_status: str = "paid", session_id: str = SESSION_ID) -> dict:
    return {
        "id": session_id,
        "object": "checkout.session",
        "mode": "payment",
        "status": "complete" if payment_status == "paid" else "open",
        "payment_status": payment_status,
        "client_reference_id": f"order:{order.id}",
        "metadata": {"reference": f"order:{order.id}", "order_id": str(order.id)},
        "payment_intent": "pi_1",
        "amount_total": order.total_cents,
        "currency": "usd",
        "customer_email": BUYER,
    }


def refund_object(order: Order) -> dict:
    return {
        "id": "ch_1",
        "object": "charge",
        "payment_intent": "pi_1",
        "amount": order.total_cents,
        "amount_refunded": order.total_cents,
        "refunded": True,
        "currency": "usd",
    }


# ---- 1. Checkout through the web flow ---------------------------------------------------------


def test_checkout_creates_a_stripe_session_priced_on_the_server(stripe_app, buyer, httpserver):
    stub_sessions(httpserver)

    response = check_out(buyer)

    assert response.status_code == 303
    assert response.headers["Location"] == CHECKOUT_URL
    order = the_order(stripe_app)
    assert (order.status, order.gateway, order.total_cents) == (OrderStatus.PENDING, "stripe", COPIES * PRICE_CENTS)
    assert order.checkout_session_id == SESSION_ID

    [request] = session_requests(httpserver)
    assert request.method == "POST"
    assert request.headers["Idempotency-Key"] == f"order-{order.id}-attempt-1"
    assert request.headers["Authorization"] == f"Bearer {STRIPE_KEY}"
    assert request.mimetype == "application/x-www-form-urlencoded"
    raw = request.get_data(as_text=True)
    form = {key: values[0] for key, values in parse_qs(raw).items()}
    assert form["mode"] == "payment"
    assert form["line_items[0][price_data][unit_amount]"] == str(PRICE_CENTS)
    assert form["line_items[0][quantity]"] == str(COPIES)
    assert form["line_items[0][price_data][currency]"] == "usd"
    assert form["line_items[0][price_data][product_data][name]"] == "The Fellowship of the Ring"
    assert form["metadata[reference]"] == f"order:{order.id}"
    assert form["payment_intent_data[metadata][reference]"] == f"order:{order.id}"
    assert form["client_reference_id"] == f"order:{order.id}"
    assert form["customer_email"] == BUYER
    # Stripe fills in the template, so it must arrive intact (braces url-encoded on the wire).
    assert "%7BCHECKOUT_SESSION_ID%7D" in raw
    base = stripe_app.config["BASE_URL"]  # absolute, from the configured public address
    assert form["success_url"] == f"{base}/orders/{order.id}?session_id={{CHECKOUT_SESSION_ID}}"
    assert form["cancel_url"] == f"{base}/orders/{order.id}?cancelled=1"


def test_checkout_from_htmx_redirects_with_hx_redirect(stripe_app, buyer, httpserver):
    stub_sessions(httpserver)

    response = check_out(buyer, **{"HX-Request": "true"})

    assert response.status_code == 200
    assert response.headers["HX-Redirect"] == CHECKOUT_URL


def test_checking_out_twice_reuses_the_order_and_its_session(stripe_app, buyer, httpserver):
    stub_sessions(httpserver)

    first = check_out(buyer)
    second = check_out(buyer)

    assert first.headers["Location"] == second.headers["Location"] == CHECKOUT_URL
    assert len(session_requests(httpserver)) == 1  # the saved session URL is reused
    order = the_order(stripe_app)
    assert order.checkout_attempt == 1


# ---- 2. Stripe errors leave the order pending; a retry reuses the key -------------------------


@pytest.mark.parametrize("status", [500, 402])
def test_a_stripe_error_keeps_the_order_and_a_retry_reuses_the_key(stripe_app, buyer, httpserver, status, caplog):
    stub_session_error_once(httpserver, status)
    stub_session_error_once(httpserver, status)

    response = check_out(buyer)

    # The reader is told to try again; the operator's log says what Stripe answered.
    cause, code = {402: ("CardError", "card_declined"), 500: ("APIError", None)}[status]
    assert f"Stripe refused or did not answer: {cause} (HTTP {status}, code {code}, request req_{status})" in [
        record.getMessage() for record in caplog.records
    ]

    order = the_order(stripe_app)
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/orders/{order.id}")
    assert order.status == OrderStatus.PENDING
    assert order.checkout_session_id is None
    page = order_page(buyer, order.id)
    assert "We could not reach the payment service. Your order is saved" in page
    assert "Pay now" in page

    # Still failing: the reader stays on the order page with a message.
    response = pay_again(buyer, order.id)
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/orders/{order.id}")
    assert "Please try again in a minute" in order_page(buyer, order.id)
    assert the_order(stripe_app).status == OrderStatus.PENDING

    # Stripe is back: the same key, so a session Stripe did create is returned, not a second one.
    stub_sessions(httpserver)
    response = pay_again(buyer, order.id)
    assert response.status_code == 303
    assert response.headers["Location"] == CHECKOUT_URL

    keys = [request.headers["Idempotency-Key"] for request in session_requests(httpserver)]
    assert keys == [f"order-{order.id}-attempt-1"] * 3
    order = the_order(stripe_app)
    assert (order.status, order.checkout_session_id) == (OrderStatus.PENDING, SESSION_ID)


def test_a_new_attempt_after_expiry_gets_a_new_key(stripe_app, buyer, httpserver):
    order = order_at_checkout(stripe_app, buyer, httpserver)
    assert deliver(
        buyer, stripe_event("evt_exp", "checkout.session.expired", session_object(order, "unpaid"))
    ).json == {"status": "expired"}
    httpserver.clear()
    stub_sessions(httpserver, "cs_test_2", "https://checkout.stripe.test/c/cs_test_2")

    response = pay_again(buyer, order.id)

    assert response.headers["Location"] == "https://checkout.stripe.test/c/cs_test_2"
    [request] = session_requests(httpserver)
    assert request.headers["Idempotency-Key"] == f"order-{order.id}-attempt-2"
    order = the_order(stripe_app)
    assert (order.status, order.checkout_session_id) == (OrderStatus.PENDING, "cs_test_2")


# ---- 3. Signed webhooks -----------------------------------------------------------------------


def test_a_signed_completed_event_pays_the_order(stripe_app, buyer, httpserver, book_id, inbox):
    order = order_at_checkout(stripe_app, buyer, httpserver)

    response = deliver(buyer, stripe_event("evt_1", "checkout.session.completed", session_object(order)))

    assert response.status_code == 200
    assert response.json == {"status": "paid"}
    order = the_order(stripe_app)
    assert order.status == OrderStatus.PAID
    assert order.payment_intent_id == "pi_1"
    assert stock_of(stripe_app, book_id) == STOCK - COPIES
    [receipt] = inbox.wait_for(BUYER, 1)
    assert f"receipt for order #{order.id}" in receipt["Subject"]
    assert "Paid" in order_page(buyer, order.id)


WEBHOOK_ERRORS = {
    "wrong secret": "signature verification failed",
    "tampered body": "signature verification failed",
    "stale timestamp": "signature verification failed",
    "no header": "missing Stripe-Signature header",
    "not json": "the body is not a Stripe event",
}


@pytest.mark.parametrize(
    "how",
    ["wrong secret", "tampered body", "stale timestamp", "no header", "not json"],
)
def test_an_unauthentic_webhook_is_refused_and_changes_nothing(stripe_app, buyer, httpserver, book_id, inbox, how):
    order = order_at_checkout(stripe_app, buyer, httpserver)
    event = stripe_event("evt_1", "checkout.session.completed", session_object(order))
    payload = json.dumps(event)
    now = int(time.time())
    headers = {"Stripe-Signature": signature(payload, timestamp=now)}
    if how == "wrong secret":
        headers["Stripe-Signature"] = signature(payload, secret="whsec_other", timestamp=now)
    elif how == "tampered body":
        payload = payload.replace('"paid"', '"paid" ', 1)
    elif how == "stale timestamp":
        headers["Stripe-Signature"] = signature(payload, timestamp=now - 301)
    elif how == "no header":
        headers = {}
    elif how == "not json":
        payload = "not json"
        headers["Stripe-Signature"] = signature(payload, timestamp=now)

    response = buyer.post(WEBHOOK, data=payload.encode(), content_type="application/json", headers=headers)

    assert response.status_code == 400
    assert response.json == {"error": WEBHOOK_ERRORS[how]}  # what Stripe's dashboard shows for the delivery
    assert payment_event_count(stripe_app) == 0
    assert the_order(stripe_app).status == OrderStatus.PENDING
    assert stock_of(stripe_app, book_id) == STOCK
    assert inbox.to(BUYER) == []


def test_a_webhook_signed_a_little_in_the_future_is_accepted(stripe_app, buyer, httpserver):
    # Clocks drift: Stripe's check only refuses old timestamps.
    order = order_at_checkout(stripe_app, buyer, httpserver)
    event = stripe_event("evt_1", "checkout.session.completed", session_object(order))

    response = deliver(buyer, event, timestamp=int(time.time()) + 60)

    assert response.status_code == 200
    assert the_order(stripe_app).status == OrderStatus.PAID


def test_an_event_for_no_known_order_is_acknowledged(stripe_app, buyer, httpserver):
    order = order_at_checkout(stripe_app, buyer, httpserver)
    obj = {**session_object(order), "client_reference_id": "order:999999", "metadata": {}}

    response = deliver(buyer, stripe_event("evt_x", "checkout.session.completed", obj))

    # 200 so Stripe stops retrying; nothing happens to the reader's order.
    assert response.status_code == 200
    assert response.json == {"status": "unknown reference"}
    assert the_order(stripe_app).status == OrderStatus.PENDING


def test_an_event_type_we_do_not_handle_is_ignored(stripe_app, buyer, httpserver):
    order_at_checkout(stripe_app, buyer, httpserver)

    response = deliver(
        buyer, stripe_event("evt_pi", "payment_intent.created", {"id": "pi_1", "object": "payment_intent"})
    )

    assert (response.status_code, response.json) == (200, {"status": "ignored"})
    assert the_order(stripe_app).status == OrderStatus.PENDING
    assert payment_event_count(stripe_app) == 0


# ---- 4. Duplicates and events out of order ----------------------------------------------------


def test_the_same_event_three_times_pays_once(stripe_app, buyer, httpserver, book_id, inbox):
    order = order_at_checkout(stripe_app, buyer, httpserver)
    event = stripe_event("evt_1", "checkout.session.completed", session_object(order))

    answers = [deliver(buyer, event) for _ in range(3)]

    assert [r.status_code for r in answers] == [200, 200, 200]
    assert [r.json["status"] for r in answers] == ["paid", "duplicate", "duplicate"]
    assert the_order(stripe_app).status == OrderStatus.PAID
    assert stock_of(stripe_app, book_id) == STOCK - COPIES
    assert len(emails_about(inbox, "receipt")) == 1
    assert len(inbox.to(BUYER)) == 1
    assert payment_event_count(stripe_app) == 1


def test_a_refund_before_the_payment_ends_refunded(stripe_app, buyer, httpserver, book_id, inbox):
    order = order_at_checkout(stripe_app, buyer, httpserver)
    refund = stripe_event("evt_refund", "charge.refunded", refund_object(order))
    completed = stripe_event("evt_paid", "checkout.session.completed", session_object(order))

    assert deliver(buyer, refund).json == {"status": "parked"}
    assert the_order(stripe_app).status == OrderStatus.PENDING
    assert inbox.to(BUYER) == []

    assert deliver(buyer, completed).status_code == 200
    # Stripe retries both; nothing more happens.
    assert deliver(buyer, refund).json == {"status": "duplicate"}
    assert deliver(buyer, completed).json == {"status": "duplicate"}

    order = the_order(stripe_app)
    assert order.status == OrderStatus.REFUNDED
    assert order.refunded_cents == order.total_cents
    assert stock_of(stripe_app, book_id) == STOCK
    assert len(emails_about(inbox, "receipt")) == 1
    assert len(emails_about(inbox, "refund of")) == 1
    assert len(inbox.to(BUYER)) == 2
    page = order_page(buyer, order.id)
    assert "Refunded" in page
    assert f"${order.total_cents / 100:.2f} refunded" in page


def test_a_refund_after_the_payment_returns_the_stock(stripe_app, buyer, httpserver, book_id, inbox):
    order = order_at_checkout(stripe_app, buyer, httpserver)

    deliver(buyer, stripe_event("evt_paid", "checkout.session.completed", session_object(order)))
    assert stock_of(stripe_app, book_id) == STOCK - COPIES
    assert deliver(buyer, stripe_event("evt_refund", "charge.refunded", refund_object(order))).json == {
        "status": "refunded"
    }

    assert the_order(stripe_app).status == OrderStatus.REFUNDED
    assert stock_of(stripe_app, book_id) == STOCK
    assert len(emails_about(inbox, "receipt")) == 1
    assert len(emails_about(inbox, "refund of")) == 1


# ---- 5. Slow payment methods, failures and expiry ---------------------------------------------


def test_a_second_payment_event_for_a_paid_order_changes_nothing(stripe_app, buyer, httpserver, book_id, inbox):
    order = order_at_checkout(stripe_app, buyer, httpserver)
    assert deliver(buyer, stripe_event("evt_1", "checkout.session.completed", session_object(order))).json == {
        "status": "paid"
    }

    late = stripe_event("evt_2", "checkout.session.async_payment_succeeded", session_object(order))
    assert deliver(buyer, late).json == {"status": "already paid"}

    assert the_order(stripe_app).status == OrderStatus.PAID
    assert stock_of(stripe_app, book_id) == STOCK - COPIES  # the stock was taken once
    assert len(emails_about(inbox, "receipt")) == 1


def test_an_unpaid_completed_session_waits_for_the_async_payment(stripe_app, buyer, httpserver, book_id, inbox):
    order = order_at_checkout(stripe_app, buyer, httpserver)

    response = deliver(buyer, stripe_event("evt_1", "checkout.session.completed", session_object(order, "unpaid")))

    assert response.json == {"status": "processing"}
    assert the_order(stripe_app).status == OrderStatus.PROCESSING
    assert stock_of(stripe_app, book_id) == STOCK
    assert inbox.to(BUYER) == []
    assert "Your bank is confirming the payment" in order_page(buyer, order.id)

    response = deliver(
        buyer, stripe_event("evt_2", "checkout.session.async_payment_succeeded", session_object(order, "paid"))
    )

    assert response.json == {"status": "paid"}
    assert the_order(stripe_app).status == OrderStatus.PAID
    assert stock_of(stripe_app, book_id) == STOCK - COPIES
    assert len(emails_about(inbox, "receipt")) == 1


def test_a_failed_async_payment_fails_the_order_and_tells_the_buyer(stripe_app, buyer, httpserver, book_id, inbox):
    order = order_at_checkout(stripe_app, buyer, httpserver)
    deliver(buyer, stripe_event("evt_1", "checkout.session.completed", session_object(order, "unpaid")))

    failed = stripe_event("evt_2", "checkout.session.async_payment_failed", session_object(order, "unpaid"))
    response = deliver(buyer, failed)
    deliver(buyer, failed)

    assert response.json == {"status": "failed"}
    assert the_order(stripe_app).status == OrderStatus.FAILED
    assert stock_of(stripe_app, book_id) == STOCK
    [message] = inbox.to(BUYER)
    assert "did not go through" in message["Subject"]
    page = order_page(buyer, order.id)
    assert "The payment did not go through" in page
    assert "Try paying again" in page


def test_a_failure_of_an_old_session_leaves_the_order_waiting(stripe_app, buyer, httpserver, inbox):
    order = order_at_checkout(stripe_app, buyer, httpserver)
    old = session_object(order, "unpaid", "cs_old")

    response = deliver(buyer, stripe_event("evt_old", "checkout.session.async_payment_failed", old))

    assert response.json == {"status": "unchanged"}
    assert the_order(stripe_app).status == OrderStatus.PENDING
    assert inbox.to(BUYER) == []


def test_an_expired_session_expires_only_the_current_one(stripe_app, buyer, httpserver, inbox):
    order = order_at_checkout(stripe_app, buyer, httpserver)

    stale = deliver(
        buyer, stripe_event("evt_old", "checkout.session.expired", session_object(order, "unpaid", "cs_old"))
    )
    assert stale.json == {"status": "unchanged"}
    assert the_order(stripe_app).status == OrderStatus.PENDING

    response = deliver(buyer, stripe_event("evt_exp", "checkout.session.expired", session_object(order, "unpaid")))

    assert response.json == {"status": "expired"}
    assert the_order(stripe_app).status == OrderStatus.EXPIRED
    assert "Checkout expired" in order_page(buyer, order.id)
    assert inbox.to(BUYER) == []


def test_a_late_expiry_does_not_undo_a_payment(stripe_app, buyer, httpserver):
    order = order_at_checkout(stripe_app, buyer, httpserver)
    deliver(buyer, stripe_event("evt_1", "checkout.session.completed", session_object(order)))

    response = deliver(buyer, stripe_event("evt_exp", "checkout.session.expired", session_object(order, "unpaid")))

    assert response.json == {"status": "unchanged"}
    assert the_order(stripe_app).status == OrderStatus.PAID


# ---- 6. Refunds through the adapter -----------------------------------------------------------


def test_the_adapter_refunds_with_an_idempotency_key(httpserver):
    httpserver.expect_request("/v1/refunds", method="POST").respond_with_json(
        {"id": "re_1", "object": "refund", "payment_intent": "pi_1", "amount": 2598, "status": "succeeded"}
    )
    gateway = stripe_adapter(httpserver)

    refund_id = gateway.refund("pi_1", 2598, "refund-order-7")

    assert refund_id == "re_1"
    [(request, _)] = httpserver.log
    assert request.headers["Idempotency-Key"] == "refund-order-7"
    assert parse_qs(request.get_data(as_text=True)) == {"payment_intent": ["pi_1"], "amount": ["2598"]}


def test_an_unreachable_stripe_is_a_gateway_error():
    gateway = StripeGateway(STRIPE_KEY, WEBHOOK_SECRET, api_base=f"http://127.0.0.1:{free_port()}", retries=0)

    with pytest.raises(GatewayError, match=r"^Stripe refused or did not answer: APIConnectionError$"):
        gateway.refund("pi_1", 2598, "refund-order-7")


def test_a_refused_refund_raises_a_gateway_error(httpserver):
    httpserver.expect_request("/v1/refunds", method="POST").respond_with_json(
        {"error": {"type": "invalid_request_error", "code": "charge_already_refunded", "message": "Already refunded."}},
        status=400,
    )
    gateway = stripe_adapter(httpserver)

    with pytest.raises(GatewayError, match=r"^Stripe refused or did not answer: InvalidRequestError$"):
        gateway.refund("pi_1", 2598, "refund-order-7")


def test_expiring_a_session_stripe_already_closed_is_not_an_error(httpserver):
    httpserver.expect_request("/v1/checkout/sessions/cs_done/expire", method="POST").respond_with_json(
        {
            "error": {
                "type": "invalid_request_error",
                "message": "Only Checkout Sessions with a status of open can be expired.",
            }
        },
        status=400,
    )
    httpserver.expect_request("/v1/checkout/sessions/cs_open/expire", method="POST").respond_with_json(
        {**checkout_session("cs_open"), "status": "expired"}
    )
    gateway = stripe_adapter(httpserver)

    gateway.expire("cs_done")  # already complete or expired: nothing left to close
    gateway.expire("cs_open")

    assert [request.path for request, _ in httpserver.log] == [
        "/v1/checkout/sessions/cs_done/expire",
        "/v1/checkout/sessions/cs_open/expire",
    ]


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (
            404,
            {"error": {"type": "invalid_request_error", "message": "No such checkout.session"}},
            "Stripe refused to expire the session: InvalidRequestError",
        ),
        (
            401,
            {"error": {"type": "invalid_request_error", "message": "Invalid API Key provided"}},
            "Stripe refused or did not answer: AuthenticationError",
        ),
        (
            500,
            {"error": {"type": "api_error", "message": "An unexpected error occurred."}},
            "Stripe refused or did not answer: APIError",
        ),
    ],
)
def test_a_refused_expiry_is_a_gateway_error_that_names_the_cause(httpserver, status, body, message):
    httpserver.expect_request("/v1/checkout/sessions/cs_x/expire", method="POST").respond_with_json(body, status=status)

    with pytest.raises(GatewayError) as raised:
        stripe_adapter(httpserver).expire("cs_x")

    assert str(raised.value) == message


def test_paying_for_sold_out_books_refunds_through_stripe(stripe_app, buyer, httpserver, book_id, inbox):
    order = order_at_checkout(stripe_app, buyer, httpserver)
    with stripe_app.app_context():
        db.session.get(Book, book_id).stock = 1  # another reader bought the rest meanwhile
        db.session.commit()
    httpserver.expect_request("/v1/refunds", method="POST").respond_with_json(
        {"id": "re_1", "object": "refund", "payment_intent": "pi_1", "amount": order.total_cents}
    )

    response = deliver(buyer, stripe_event("evt_1", "checkout.session.completed", session_object(order)))

    assert response.json == {"status": "paid; out of stock, refund due"}
    assert the_order(stripe_app).status == OrderStatus.REFUND_DUE
    assert stock_of(stripe_app, book_id) == 1
    [request] = [request for request, _ in httpserver.log if request.path == "/v1/refunds"]
    assert request.headers["Idempotency-Key"] == f"refund-order-{order.id}-from-0-{order.total_cents}"
    assert parse_qs(request.get_data(as_text=True)) == {
        "payment_intent": ["pi_1"],
        "amount": [str(order.total_cents)],
    }
    [message] = inbox.to(BUYER)
    assert "sold out" in message["Subject"]

    # Stripe then reports the refund: the order ends refunded, no stock comes back (none was taken).
    deliver(buyer, stripe_event("evt_refund", "charge.refunded", refund_object(order)))
    assert the_order(stripe_app).status == OrderStatus.REFUNDED
    assert stock_of(stripe_app, book_id) == 1


def test_without_stripe_there_is_no_webhook(client):
    response = client.post(WEBHOOK, data=b"{}", content_type="application/json", headers={"Stripe-Signature": "t=1"})

    assert response.status_code == 404


def test_without_a_webhook_secret_every_delivery_is_refused(app, base_settings):
    from app import create_app
    from tests.conftest import make_config

    unsigned = create_app(make_config(**{**base_settings, "STRIPE_SECRET_KEY": "sk_test_x"}))
    payload = json.dumps({"id": "evt_1", "type": "checkout.session.completed"})
    headers = {"Stripe-Signature": signature(payload, timestamp=int(time.time()))}

    response = unsigned.test_client().post(WEBHOOK, data=payload, content_type="application/json", headers=headers)

    assert response.status_code == 400
    assert response.json == {"error": "STRIPE_WEBHOOK_SECRET is not set"}


def test_the_adapter_takes_its_retries_and_timeout_from_the_config(httpserver):
    def answer_late(request):
        from werkzeug import Response

        time.sleep(1.5)
        return Response("{}", status=200, content_type="application/json")

    httpserver.expect_request("/v1/refunds", method="POST").respond_with_json(
        {"error": {"type": "api_error", "message": "An unexpected error occurred."}},
        status=500,
        headers={"Stripe-Should-Retry": "true"},
    )
    httpserver.expect_request("/v1/checkout/sessions/cs_slow/expire", method="POST").respond_with_handler(answer_late)
    config = {
        "STRIPE_SECRET_KEY": STRIPE_KEY,
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "STRIPE_API_BASE": httpserver.url_for("").rstrip("/"),
        "STRIPE_MAX_RETRIES": 1,
        "STRIPE_TIMEOUT_SECONDS": 0.3,
    }
    gateway = StripeGateway.from_config(config)

    with pytest.raises(GatewayError, match="APIError"):
        gateway.refund("pi_1", 100, "refund-retried")
    assert len([r for r, _ in httpserver.log if r.path == "/v1/refunds"]) == 2  # the first try and one retry

    started = time.monotonic()
    with pytest.raises(GatewayError, match="APIConnectionError"):
        StripeGateway.from_config({**config, "STRIPE_MAX_RETRIES": 0}).expire("cs_slow")
    assert time.monotonic() - started < 1.2  # gave up after 0.3 s, not after Stripe's 80 s default


def test_a_long_title_is_cut_to_what_stripe_shows_as_a_product_name(httpserver):
    from app.payments.gateway import CheckoutRequest, LineItem

    stub_sessions(httpserver)
    title = "A Very Long Title, " * 16  # 304 characters: titles may hold 300
    gateway = stripe_adapter(httpserver)

    gateway.create_checkout(
        CheckoutRequest(
            reference="order:1",
            line_items=[LineItem(name=title, unit_amount_cents=1299, quantity=1)],
            customer_email=BUYER,
            success_url="http://127.0.0.1:5000/orders/1",
            cancel_url="http://127.0.0.1:5000/orders/1",
            idempotency_key="order-1-attempt-1",
        )
    )

    [request] = session_requests(httpserver)
    form = parse_qs(request.get_data(as_text=True))
    assert form["line_items[0][price_data][product_data][name]"] == [title[:250]]
