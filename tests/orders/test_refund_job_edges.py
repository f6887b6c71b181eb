"""Order refunds in steps: partial, cumulative and repeated reports, and the refund job asking the
gateway only for what is still due.

Found by mutation testing (issue 10): each test fails if the refunded amount is added instead of
subtracted, or a repeated report counts twice.
"""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest

from app.extensions import db
from app.models import Book, Order, OrderStatus
from app.orders.fulfilment import refund_order
from tests.factories import isbn_for, make_books
from tests.helpers import make_user
from tests.payments.money import fresh, pay, pending_order, refund

BUYER = "bea@example.com"


@pytest.fixture
def order(app_ctx):
    """Bea's pending order: two books, $10 and $15."""
    buyer = make_user(email=BUYER, name="Bea Buyer")
    books = make_books(
        [
            {"title": "First Part", "isbn": isbn_for(730001), "price": "10.00", "stock": 3},
            {"title": "Second Part", "isbn": isbn_for(730002), "price": "15.00", "stock": 3},
        ]
    )
    return pending_order(buyer, books)


def stock() -> list[int]:
    db.session.expire_all()
    return [b.stock for b in db.session.query(Book).order_by(Book.id)]


def refund_subjects(inbox) -> list[str]:
    return [m["Subject"] for m in inbox.to(BUYER) if "refund" in m["Subject"]]


def test_an_order_refunded_in_two_steps_ends_refunded_and_returns_its_stock_once(order, inbox):
    pay(order)
    assert stock() == [2, 2]
    refund(order, 1000)
    now = fresh(Order, order.id)
    assert (now.status, now.refunded_cents) == (OrderStatus.PAID, 1000)
    assert stock() == [2, 2]  # a partial refund keeps the books sold

    refund(order, 1000, 1500)
    now = fresh(Order, order.id)
    assert (now.status, now.refunded_cents) == (OrderStatus.REFUNDED, 2500)
    assert stock() == [3, 3]
    refund(order, 1000, 1500)  # reported again: nothing more comes back
    assert stock() == [3, 3]
    inbox.wait_for(BUYER, count=3)
    assert refund_subjects(inbox) == [f"Order #{order.id}: refund of 10.00", f"Order #{order.id}: refund of 25.00"]


def test_the_same_partial_refund_reported_twice_is_recorded_once(order, inbox):
    pay(order)
    refund(order, 700)
    refund(order, 700)
    now = fresh(Order, order.id)
    assert (now.status, now.refunded_cents) == (OrderStatus.PAID, 700)
    inbox.wait_for(BUYER, count=2)
    assert refund_subjects(inbox) == [f"Order #{order.id}: refund of 7.00"]


def refund_requests(httpserver) -> list[dict]:
    return [parse_qs(r.get_data(as_text=True)) for r, _ in httpserver.log if r.path == "/v1/refunds"]


def test_the_refund_job_asks_the_gateway_only_for_what_is_still_due(stripe_app, httpserver):
    httpserver.expect_request("/v1/refunds", method="POST").respond_with_json(
        {"id": "re_rest", "object": "refund", "amount": 1900, "status": "succeeded"}
    )
    with stripe_app.app_context():
        buyer = make_user(email=BUYER, name="Bea Buyer")
        books = make_books([{"title": "Rest Due", "isbn": isbn_for(730003), "price": "25.00", "stock": 3}])
        order = pending_order(buyer, books)
        pay(order, payment_intent="pi_rest")
        refund(order, 600)  # the support team refunded $6 by hand on the gateway
        order_id = order.id
    with stripe_app.app_context():
        assert refund_order(order_id) == "re_rest"
    assert refund_requests(httpserver) == [{"payment_intent": ["pi_rest"], "amount": ["1900"]}]


def test_the_refund_job_asks_nothing_for_a_refunded_or_unpaid_order(stripe_app, httpserver):
    with stripe_app.app_context():
        buyer = make_user(email=BUYER, name="Bea Buyer")
        books = make_books([{"title": "Nothing Due", "isbn": isbn_for(730004), "price": "25.00", "stock": 3}])
        refunded = pending_order(buyer, books)
        pay(refunded, payment_intent="pi_done")
        refund(refunded, 2500)
        unpaid = pending_order(buyer, books)
        ids = refunded.id, unpaid.id
    with stripe_app.app_context():
        assert [refund_order(i) for i in ids] == ["nothing to refund", "nothing to refund"]
        assert refund_order(999_999) == "nothing to refund"
    assert refund_requests(httpserver) == []
