"""Checkout through the simulated gateway: orders, stock, receipts, failures, refunds."""

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Book, CartItem, Order, OrderStatus, PaymentEvent
from app.payments.fulfilment import handle_event
from app.payments.simulated import simulated_event
from tests.factories import make_books
from tests.helpers import login_as, make_user
from tests.shop import checkout as checkout_steps
from tests.shop import choose_address, choose_method, open_shop, pay


@pytest.fixture
def books(app):
    with app.app_context():
        return [
            b.id
            for b in make_books(
                [
                    {"title": "Middlemarch", "price": "11.00", "stock": 4},
                    {"title": "Ulysses", "price": "14.50", "stock": 1},
                ]
            )
        ]


@pytest.fixture
def reader(app, client):
    with app.app_context():
        make_user()
        open_shop()
    login_as(client)
    return client


def fill_cart(client, *lines):
    for book_id, quantity in lines:
        assert client.post("/cart/add", data={"book_id": book_id, "quantity": quantity}).status_code == 303


def checkout(client) -> tuple[int, str]:
    """Through the steps to a US address (free standard shipping, no tax): the books' total."""
    return checkout_steps(client)


def stock(app, book_id) -> int:
    with app.app_context():
        return db.session.get(Book, book_id).stock


def order_state(app, order_id) -> Order:
    with app.app_context():
        order = db.session.get(Order, order_id)
        db.session.expunge(order)
        return order


def test_paying_on_the_simulated_page_fulfils_the_order(app, reader, books, inbox):
    fill_cart(reader, (books[0], 2), (books[1], 1))
    order_id, url = checkout(reader)
    page = reader.get(url)
    assert b"Simulated payment" in page.data and b"$36.50" in page.data

    paid = reader.post(url, data={"action": "pay"}, follow_redirects=True)
    assert b'Status: <span class="order-status status-paid">Paid</span>' in paid.data
    assert stock(app, books[0]) == 2 and stock(app, books[1]) == 0
    receipt = inbox.wait_for("reader@example.com")[0]
    assert receipt["Subject"] == f"Your Book Commerce receipt for order #{order_id}"
    text = receipt.get_body(preferencelist=("plain",)).get_content()
    assert "2 × Middlemarch" in text and "Total: $36.50" in text
    with app.app_context():
        assert db.session.scalar(select(db.func.count(CartItem.id))) == 0  # bought books leave the cart
    assert b"Paid" in reader.get("/orders").data


def test_prices_are_snapshotted_when_the_order_is_made(app, reader, books):
    from app.catalogue.services import set_price

    fill_cart(reader, (books[0], 1))
    order_id, url = checkout(reader)
    with app.app_context():
        set_price(books[0], "99.00")
    assert order_state(app, order_id).total_cents == 1100
    assert b"$11.00" in reader.get(url).data


def test_declining_fails_the_order_and_tells_the_buyer(app, reader, books, inbox):
    fill_cart(reader, (books[0], 1))
    order_id, url = checkout(reader)
    page = reader.post(url, data={"action": "decline"}, follow_redirects=True)
    assert b"The payment did not go through" in page.data and b"Try paying again" in page.data
    assert order_state(app, order_id).status == OrderStatus.FAILED
    assert stock(app, books[0]) == 4
    assert "did not go through" in inbox.wait_for("reader@example.com")[0]["Subject"]

    retry = reader.post(f"/orders/{order_id}/pay")
    assert retry.status_code == 303
    assert retry.headers["Location"] != url  # a new attempt, a new session
    assert order_state(app, order_id).checkout_attempt == 2
    reader.post(retry.headers["Location"], data={"action": "pay"})
    assert order_state(app, order_id).status == OrderStatus.PAID
    paid = reader.post(f"/orders/{order_id}/pay", follow_redirects=True)
    assert b"This order is paid; there is nothing to pay." in paid.data


def test_checkout_needs_a_verified_email(app, client, books):
    with app.app_context():
        make_user(verified=False)
    login_as(client)
    fill_cart(client, (books[0], 1))
    page = client.get("/checkout")
    assert b"Please confirm your email address" in page.data
    with app.app_context():
        open_shop()
    choose_address(client)
    choose_method(client, "Standard")
    refused = pay(client)
    assert refused.status_code == 303 and refused.headers["Location"].endswith("/checkout/review")
    assert b"Please confirm your email address before you check out." in client.get("/checkout/review").data
    with app.app_context():
        assert db.session.scalar(select(db.func.count(Order.id))) == 0


def test_a_visitor_checks_out_with_an_email_instead_of_a_log_in(client, books):
    fill_cart(client, (books[0], 1))
    response = client.get("/checkout")
    assert response.status_code == 303 and response.headers["Location"].endswith("/checkout/address")
    assert b"Email (for your receipt)" in client.get("/checkout/address").data


def test_a_double_submit_reuses_the_open_order(app, reader, books):
    fill_cart(reader, (books[0], 1))
    first, url1 = checkout(reader)
    second, url2 = checkout(reader)
    assert first == second and url1 == url2


def test_an_empty_cart_cannot_check_out(reader, books):
    assert b"Your cart is empty." in reader.get("/checkout").data
    assert reader.get("/checkout/review").headers["Location"].endswith("/checkout")
    response = pay(reader)
    assert response.status_code == 303 and response.headers["Location"].endswith("/checkout")


def test_another_readers_order_is_not_found(app, reader, books):
    fill_cart(reader, (books[0], 1))
    order_id, url = checkout(reader)
    with app.app_context():
        make_user(email="other@example.com", name="Other")
    other = app.test_client()
    login_as(other, email="other@example.com")
    assert other.get(f"/orders/{order_id}").status_code == 404
    assert other.get(url).status_code == 404
    assert other.post(url, data={"action": "pay"}).status_code == 404


def test_the_order_page_polls_until_paid(app, reader, books):
    fill_cart(reader, (books[0], 1))
    order_id, url = checkout(reader)
    htmx = {"HX-Request": "true", "HX-Request-Type": "partial"}
    pending = reader.get(f"/orders/{order_id}", headers=htmx)
    assert b'hx-trigger="every 2s"' in pending.data and b"<html" not in pending.data
    reader.post(url, data={"action": "pay"})
    paid = reader.get(f"/orders/{order_id}", headers=htmx)
    assert b"every 2s" not in paid.data and b"Paid" in paid.data


def test_when_stock_runs_out_during_payment_the_buyer_is_refunded(app, reader, books, inbox):
    fill_cart(reader, (books[1], 1))
    order_id, url = checkout(reader)
    with app.app_context():
        db.session.get(Book, books[1]).stock = 0  # someone else bought the last copy meanwhile
        db.session.commit()
    reader.post(url, data={"action": "pay"})
    order = order_state(app, order_id)
    # The refund job ran inline (no Redis) through the simulated gateway's refund event.
    assert order.status == OrderStatus.REFUNDED and order.refunded_cents == 1450
    assert stock(app, books[1]) == 0
    subjects = sorted(m["Subject"] for m in inbox.wait_for("reader@example.com", count=2))
    assert subjects == [f"Order #{order_id}: refund of 14.50", f"Order #{order_id}: sold out, refund on its way"]


def test_duplicate_and_out_of_order_events_apply_once(app, reader, books, inbox):
    fill_cart(reader, (books[0], 1))
    order_id, url = checkout(reader)
    session_id = url.rsplit("/", 1)[-1]
    paid = simulated_event("checkout.session.completed", session_id, f"order:{order_id}", 1100, True)
    refund = {
        "id": "evt_refund_1",
        "type": "charge.refunded",
        "data": {
            "object": {
                "object": "charge",
                "payment_intent": paid["data"]["object"]["payment_intent"],
                "amount_refunded": 1100,
            }
        },
    }
    with app.app_context():
        assert handle_event("simulated", refund) == "parked"
        results = [handle_event("simulated", paid) for _ in range(3)]
        assert handle_event("simulated", refund) == "duplicate"
        assert results[1:] == ["duplicate", "duplicate"]
        assert db.session.scalar(select(db.func.count(PaymentEvent.id))) == 2
    order = order_state(app, order_id)
    assert order.status == OrderStatus.REFUNDED
    assert stock(app, books[0]) == 4  # taken, then given back
    messages = inbox.wait_for("reader@example.com", count=2)
    assert sorted(re.sub(r"\d+", "N", m["Subject"]) for m in messages) == [
        "Order #N: refund of N.N",
        "Your Book Commerce receipt for order #N",
    ]


def test_orders_page_runs_a_fixed_number_of_queries(app, reader, books, count_queries):
    fill_cart(reader, (books[0], 1))
    checkout(reader)
    reader.get("/orders")  # both counts with the reader's snapshot cached (app/accounts/user_cache.py)
    with count_queries() as few:
        reader.get("/orders")
    for _ in range(4):
        reader.post("/cart/add", data={"book_id": books[0], "quantity": 1})
        order_id, url = checkout(reader)
        reader.post(url, data={"action": "decline"})
    reader.get("/orders")
    with count_queries() as many:
        page = reader.get("/orders")
    assert page.data.count(b"/orders/") >= 5
    assert few.count == many.count, many.statements


def test_orders_cli_lists_shows_and_refunds(app, reader, books, inbox):
    fill_cart(reader, (books[0], 2))
    order_id, url = checkout(reader)
    runner = app.test_cli_runner()
    unpaid = runner.invoke(args=["orders", "refund", str(order_id)])
    assert unpaid.exit_code == 1 and "was not paid" in unpaid.output
    reader.post(url, data={"action": "pay"})

    listed = runner.invoke(args=["orders", "list", "--status", "paid"])
    assert f"#{order_id}" in listed.output and "$22.00" in listed.output and "1 order(s)." in listed.output
    shown = runner.invoke(args=["orders", "show", str(order_id)])
    assert "2 × Middlemarch" in shown.output and "Paid" in shown.output
    refunded = runner.invoke(args=["orders", "refund", str(order_id)])
    assert refunded.exit_code == 0, refunded.output
    assert "status now: Refunded" in refunded.output
    assert stock(app, books[0]) == 4
    again = runner.invoke(args=["orders", "refund", str(order_id)])
    assert again.exit_code == 1 and "already refunded" in again.output
    missing = runner.invoke(args=["orders", "show", "424242"])
    assert missing.exit_code == 1 and "no order 424242" in missing.output
