"""Shipping, tax and discounts with Stripe: what the session asks for, and what a payment with
Stripe Tax records.

The adapter talks to the local Stripe stub (pytest-httpserver) with the real ``StripeClient``; the
form-encoded bodies asserted here are what Stripe would receive. Webhooks are signed as Stripe signs
them (tests/payments/webhooks.py).
"""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Order, OrderStatus, PaymentEvent
from app.payments.gateway import CheckoutRequest, GatewayError, LineItem, gateway_computes_tax
from tests.conftest import make_config
from tests.payments import test_stripe
from tests.payments.test_stripe import (
    BUYER,
    SESSION_ID,
    order_at_checkout,
    session_object,
    session_requests,
    stripe_adapter,
    stub_session_error_once,
    stub_sessions,
    the_order,
)
from tests.payments.webhooks import deliver, stripe_event

# The book and the logged-in buyer with it in the cart, as in test_stripe.
book_id = test_stripe.book_id
buyer = test_stripe.buyer

COUPON_ID = "co_test_1"
SHIPPING = "Shipping: Standard (3-5 working days)"


def request_for(**charges) -> CheckoutRequest:
    return CheckoutRequest(
        reference="order:7",
        line_items=[LineItem("Middlemarch", 1100, 2)],
        customer_email=BUYER,
        success_url="http://127.0.0.1:5000/orders/7?session_id={CHECKOUT_SESSION_ID}",
        cancel_url="http://127.0.0.1:5000/orders/7?cancelled=1",
        idempotency_key="order-7-attempt-1",
        **charges,
    )


FULL = {
    "shipping": LineItem(SHIPPING, 499, 1),
    "tax": LineItem("Tax: VAT 5.5%", 136, 1),
    "discount_cents": 220,
    "discount_label": "WELCOME10",
}


def stub_coupons(httpserver) -> None:
    httpserver.expect_request("/v1/coupons", method="POST").respond_with_json(
        {"id": COUPON_ID, "object": "coupon", "amount_off": 220, "currency": "usd", "duration": "once"}
    )


def form_of(request) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(request.get_data(as_text=True)).items()}


def coupon_requests(httpserver) -> list:
    return [request for request, _ in httpserver.log if request.path == "/v1/coupons"]


# ---- The request's total -----------------------------------------------------------------------


def test_the_total_is_lines_plus_shipping_plus_tax_minus_the_discount():
    assert request_for().total_cents == 2200
    assert request_for(**FULL).total_cents == 2200 + 499 + 136 - 220
    assert request_for(discount_cents=5000).total_cents == 0  # never below zero


# ---- What Stripe receives ----------------------------------------------------------------------


def test_shipping_tax_and_discount_reach_stripe_as_an_option_a_line_and_a_coupon(httpserver):
    stub_coupons(httpserver)
    stub_sessions(httpserver)

    session = stripe_adapter(httpserver).create_checkout(request_for(**FULL))

    assert session.id == SESSION_ID
    assert [request.path for request, _ in httpserver.log] == ["/v1/coupons", "/v1/checkout/sessions"]
    [coupon] = coupon_requests(httpserver)
    assert coupon.headers["Idempotency-Key"] == "order-7-attempt-1:coupon"
    assert form_of(coupon) == {"amount_off": "220", "currency": "usd", "duration": "once", "name": "WELCOME10"}

    [created] = session_requests(httpserver)
    assert created.headers["Idempotency-Key"] == "order-7-attempt-1"
    form = form_of(created)
    assert form["line_items[0][price_data][unit_amount]"] == "1100"
    assert form["line_items[0][quantity]"] == "2"
    assert form["line_items[1][price_data][product_data][name]"] == "Tax: VAT 5.5%"
    assert form["line_items[1][price_data][unit_amount]"] == "136"
    assert form["line_items[1][price_data][currency]"] == "usd"
    assert form["line_items[1][quantity]"] == "1"
    assert form["shipping_options[0][shipping_rate_data][type]"] == "fixed_amount"
    assert form["shipping_options[0][shipping_rate_data][fixed_amount][amount]"] == "499"
    assert form["shipping_options[0][shipping_rate_data][fixed_amount][currency]"] == "usd"
    assert form["shipping_options[0][shipping_rate_data][display_name]"] == SHIPPING
    assert form["discounts[0][coupon]"] == COUPON_ID
    assert not any(key.startswith("automatic_tax") for key in form)
    assert not any(key.startswith("line_items[2]") for key in form)


def test_with_automatic_tax_stripe_computes_it_and_there_is_no_tax_line(httpserver):
    stub_sessions(httpserver)

    stripe_adapter(httpserver).create_checkout(
        request_for(shipping=LineItem(SHIPPING, 499, 1), tax=LineItem("Tax: VAT 5.5%", 136, 1), automatic_tax=True)
    )

    [created] = session_requests(httpserver)
    form = form_of(created)
    assert form["automatic_tax[enabled]"] == "true"
    assert not any(key.startswith("line_items[1]") for key in form)  # the books only
    assert form["shipping_options[0][shipping_rate_data][fixed_amount][amount]"] == "499"
    assert coupon_requests(httpserver) == []  # no discount, no coupon


def test_without_charges_the_session_is_as_before(httpserver):
    stub_sessions(httpserver)

    stripe_adapter(httpserver).create_checkout(request_for())

    [created] = session_requests(httpserver)
    form = form_of(created)
    extra = ("shipping_options", "discounts", "automatic_tax", "line_items[1]")
    assert [key for key in form if key.startswith(extra)] == []
    assert coupon_requests(httpserver) == []


def test_a_retried_checkout_reuses_the_coupon_key_and_the_session_key(httpserver):
    stub_coupons(httpserver)
    stub_session_error_once(httpserver, 500)
    stub_sessions(httpserver)
    gateway = stripe_adapter(httpserver)

    with pytest.raises(GatewayError):
        gateway.create_checkout(request_for(**FULL))
    session = gateway.create_checkout(request_for(**FULL))

    assert session.id == SESSION_ID
    # Stripe answers a repeated key with the first coupon: the retry makes no second one.
    assert [r.headers["Idempotency-Key"] for r in coupon_requests(httpserver)] == ["order-7-attempt-1:coupon"] * 2
    assert [r.headers["Idempotency-Key"] for r in session_requests(httpserver)] == ["order-7-attempt-1"] * 2
    assert {form_of(r)["discounts[0][coupon]"] for r in session_requests(httpserver)} == {COUPON_ID}


def test_a_refused_coupon_is_a_gateway_error_and_no_session_is_made(httpserver):
    httpserver.expect_request("/v1/coupons", method="POST").respond_with_json(
        {"error": {"type": "invalid_request_error", "message": "Invalid currency"}}, status=400
    )
    stub_sessions(httpserver)

    with pytest.raises(GatewayError, match="InvalidRequestError"):
        stripe_adapter(httpserver).create_checkout(request_for(**FULL))
    assert session_requests(httpserver) == []


def test_automatic_tax_is_only_asked_of_stripe_when_configured(app, base_settings, httpserver):
    from app import create_app
    from tests.payments.webhooks import stripe_settings

    cases = [
        ({}, False),
        ({"STRIPE_AUTOMATIC_TAX": True}, False),  # the simulated gateway uses our own rates
        ({**stripe_settings(httpserver)}, False),
        ({**stripe_settings(httpserver), "STRIPE_AUTOMATIC_TAX": True}, True),
    ]
    for settings, computes in cases:
        with create_app(make_config(**{**base_settings, **settings})).app_context():
            assert gateway_computes_tax() is computes


def test_the_setting_reads_one_from_the_environment(monkeypatch):
    import importlib

    import config

    monkeypatch.setenv("STRIPE_AUTOMATIC_TAX", "1")
    try:
        assert importlib.reload(config).Config.STRIPE_AUTOMATIC_TAX is True
    finally:
        monkeypatch.delenv("STRIPE_AUTOMATIC_TAX")
        assert importlib.reload(config).Config.STRIPE_AUTOMATIC_TAX is False


# ---- Paid with Stripe Tax ----------------------------------------------------------------------


def taxed_session(order: Order, tax_cents: int, *, automatic: bool = True, amount_total: int | None = None) -> dict:
    obj = session_object(order)
    obj["amount_total"] = order.total_cents + tax_cents if amount_total is None else amount_total
    obj["automatic_tax"] = {"enabled": automatic, "status": "complete" if automatic else None}
    obj["total_details"] = {"amount_discount": 0, "amount_shipping": 0, "amount_tax": tax_cents}
    return obj


def test_a_payment_with_stripe_tax_is_accepted_and_the_tax_recorded(stripe_app, buyer, httpserver, inbox):
    order = order_at_checkout(stripe_app, buyer, httpserver)
    before = order.total_cents

    response = deliver(buyer, stripe_event("evt_tax_1", "checkout.session.completed", taxed_session(order, 143)))

    assert response.status_code == 200
    assert response.get_json()["status"].startswith(OrderStatus.PAID)
    paid = the_order(stripe_app)
    assert (paid.status, paid.tax_cents, paid.total_cents) == (OrderStatus.PAID, 143, before + 143)
    assert paid.tax_label == "Tax"


def test_the_same_taxed_payment_twice_records_the_tax_once(stripe_app, buyer, httpserver, inbox):
    order = order_at_checkout(stripe_app, buyer, httpserver)
    before = order.total_cents
    event = stripe_event("evt_tax_1", "checkout.session.completed", taxed_session(order, 143))

    assert deliver(buyer, event).status_code == 200
    assert deliver(buyer, event).get_json()["status"] == "duplicate"
    # The same payment under another event id (Stripe's async success after completed).
    again = stripe_event("evt_tax_2", "checkout.session.async_payment_succeeded", taxed_session(order, 143))
    again["data"]["object"]["amount_total"] = before + 143
    assert deliver(buyer, again).get_json()["status"] == "already paid"

    paid = the_order(stripe_app)
    assert (paid.tax_cents, paid.total_cents) == (143, before + 143)


@pytest.mark.parametrize(
    "automatic, extra",
    [
        (True, 1),  # Stripe Tax, but the total is not the order plus its tax
        (False, 0),  # no automatic tax: the exact amount is asked, a tax on top is not accepted
    ],
)
def test_a_payment_that_is_not_the_order_plus_stripe_tax_is_parked(stripe_app, buyer, httpserver, automatic, extra):
    order = order_at_checkout(stripe_app, buyer, httpserver)
    before = order.total_cents
    obj = taxed_session(order, 143, automatic=automatic, amount_total=order.total_cents + 143 + extra)

    response = deliver(buyer, stripe_event("evt_tax_1", "checkout.session.completed", obj))

    assert response.get_json()["status"] == "parked: amount mismatch"
    unpaid = the_order(stripe_app)
    assert (unpaid.status, unpaid.tax_cents, unpaid.total_cents) == (OrderStatus.PENDING, 0, before)
    with stripe_app.app_context():
        event = db.session.scalar(select(PaymentEvent))
        assert event.parked_reason.startswith(f"amount mismatch: paid {before + 143 + extra} usd")


def test_stripe_tax_on_top_of_our_own_tax_is_parked(stripe_app, buyer, httpserver):
    order = order_at_checkout(stripe_app, buyer, httpserver)
    with stripe_app.app_context():
        taxed = db.session.get(Order, order.id)
        taxed.tax_cents, taxed.total_cents = 100, taxed.total_cents + 100  # checked out with our own tax
        db.session.commit()
        order = db.session.get(Order, order.id)

    response = deliver(buyer, stripe_event("evt_tax_1", "checkout.session.completed", taxed_session(order, 143)))

    assert response.get_json()["status"] == "parked: amount mismatch"  # taxed twice: someone looks at it
    assert the_order(stripe_app).status == OrderStatus.PENDING


@pytest.mark.parametrize(
    "field, value",
    [("total_details", "143"), ("total_details", {"amount_tax": "143"}), ("automatic_tax", True)],
)
def test_an_ill_typed_tax_field_is_refused_and_changes_nothing(stripe_app, buyer, httpserver, field, value):
    order = order_at_checkout(stripe_app, buyer, httpserver)
    obj = taxed_session(order, 143)
    obj[field] = value

    response = deliver(buyer, stripe_event("evt_tax_1", "checkout.session.completed", obj))

    assert response.status_code == 400
    assert the_order(stripe_app).status == OrderStatus.PENDING
