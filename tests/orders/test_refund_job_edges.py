"""Order refunds in steps: partial, cumulative and repeated reports, and the refund job asking the
gateway only for what is still due.

Found by mutation testing (issue 10): each test fails if the refunded amount is added instead of
subtracted, or a repeated report counts twice.
"""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Book, Order, OrderStatus
from app.orders.fulfilment import refund_order
from app.payments.fulfilment import handle_event
from tests.factories import isbn_for, make_books
from tests.helpers import make_user
from tests.payments.money import balance, fresh, open_club, pay, pending_order, refund, session_event

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
    assert refund(order, 700) == "refunded"
    assert refund(order, 700) == "refund already recorded"  # a new event id, the same cumulative amount
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
        waiting = pending_order(buyer, books)  # completed, but the bank transfer has not arrived
        assert pay(waiting, payment_intent="pi_waiting", payment_status="unpaid") == "processing"
        assert fresh(Order, waiting.id).status == OrderStatus.PROCESSING
        ids = refunded.id, unpaid.id, waiting.id
    with stripe_app.app_context():
        assert [refund_order(i) for i in ids] == ["nothing to refund"] * 3
        assert refund_order(999_999) == "nothing to refund"
    assert refund_requests(httpserver) == []


def test_the_refund_job_asks_nothing_for_a_zero_amount_or_a_payment_without_a_card(stripe_app, httpserver):
    with stripe_app.app_context():
        buyer = make_user(email=BUYER, name="Bea Buyer")
        books = make_books([{"title": "Free Copy", "isbn": isbn_for(730005), "price": "25.00", "stock": 3}])
        card = pending_order(buyer, books)
        pay(card, payment_intent="pi_card")
        free = pending_order(buyer, books)  # nothing was charged, so there is no payment to refund
        event = session_event(free, payment_status="no_payment_required")
        event["data"]["object"]["payment_intent"] = None  # as Stripe sends it when the total is zero
        assert handle_event("simulated", event) == "paid"
        assert fresh(Order, free.id).payment_intent_id is None
        ids = card.id, free.id
    with stripe_app.app_context():
        assert refund_order(ids[0], 0) == "nothing to refund"
        assert refund_order(ids[1]) == "nothing to refund"
    assert refund_requests(httpserver) == []


def test_refunding_a_card_paid_gift_for_a_club_puts_nothing_in_its_fund(app_ctx, inbox):
    club = open_club()
    buyer = make_user(email=BUYER, name="Bea Buyer")
    books = make_books([{"title": "Gift Copy", "isbn": isbn_for(730006), "price": "25.00", "stock": 3}])
    gift = pending_order(buyer, books, club=club)  # paid by card, the books go to the club's shelf
    assert pay(gift) == "paid"
    assert refund(gift, 1000) == "refunded"
    assert refund(gift, 2500) == "refunded"
    assert fresh(Order, gift.id).status == OrderStatus.REFUNDED
    assert balance(club.id) == 0  # the money went back to Bea's card, not into the club's fund


def test_a_refunded_last_copy_is_back_in_stock_on_the_cached_book_page(app, client, inbox):
    with app.app_context():
        buyer = make_user(email=BUYER, name="Bea Buyer")
        [book] = make_books([{"title": "Last Copy", "isbn": isbn_for(730007), "price": "25.00", "stock": 1}])
        url = f"/books/{book.id}/{book.slug}"
        order_id = pending_order(buyer, [book]).id

    def shown_stock() -> tuple[str, str]:
        """What the catalogue listing (a cached fragment) and the book page say."""
        pages = (client.get("/books?q=last+copy"), client.get(url))
        return tuple("Out of stock" if "Out of stock" in p.get_data(as_text=True) else "In stock" for p in pages)

    assert shown_stock() == ("In stock", "In stock")  # and now cached
    with app.app_context():
        assert pay(db.session.get(Order, order_id)) == "paid"
    assert shown_stock() == ("Out of stock", "Out of stock")
    with app.app_context():
        assert refund(db.session.get(Order, order_id), 2500) == "refunded"
    assert shown_stock() == ("In stock", "In stock")


def test_the_buyers_order_emails_greet_them_and_show_in_their_notifications(order, inbox):
    from app.models import Notification

    pay(order)
    refund(order, 2500)
    messages = inbox.wait_for(BUYER, count=2)
    bodies = [message.get_body(preferencelist=("plain",)).get_content() for message in messages]
    assert all(body.startswith("Hello Bea Buyer,") for body in bodies)
    assert f"We refunded $25.00 for your order #{order.id}." in bodies[1]
    notes = db.session.scalars(select(Notification).order_by(Notification.id)).all()
    assert [(n.title, n.url) for n in notes] == [
        (f"Your Book Commerce receipt for order #{order.id}", f"/orders/{order.id}"),
        (f"Order #{order.id}: refund of 25.00", f"/orders/{order.id}"),
    ]
    assert {n.user_id for n in notes} == {order.user_id}
