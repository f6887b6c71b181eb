"""A guest's order opens on the simulated payment page without an account (its session address is
the key, as a Stripe Checkout URL is); an account's order still opens only for its owner."""

from __future__ import annotations

import hashlib

from app.extensions import db
from app.models import Book, Order, OrderStatus
from app.payments.simulated import session_id_for
from tests.factories import make_books, make_guest_order
from tests.helpers import login_as, make_user
from tests.payments.test_simulated_charges import order_to_pay, pay


def guest_order_to_pay(app) -> tuple[int, str]:
    with app.app_context():
        [book_id] = [b.id for b in make_books([{"title": "Persuasion", "price": "9.00", "stock": 3}])]
        order = make_guest_order("guest@example.com", [(db.session.get(Book, book_id), 1)])
        order.checkout_session_id = session_id_for(f"order:{order.id}:1")
        db.session.commit()
        return order.id, f"/payments/simulated/{order.checkout_session_id}"


def test_a_guest_pays_their_order_without_an_account(app, client):
    order_id, url = guest_order_to_pay(app)
    page = client.get(url)
    assert page.status_code == 200 and "Persuasion" in page.get_data(as_text=True)
    answer = pay(client, url)
    assert answer.status_code == 303 and "/orders/guest/" in answer.headers["Location"]
    with app.app_context():
        assert db.session.get(Order, order_id).status == OrderStatus.PAID


def test_an_accounts_order_still_needs_its_owner(app, client):
    _, url = order_to_pay(app)
    assert client.get(url).status_code == 302  # a visitor is sent to log in
    with app.app_context():
        make_user(email="someone-else@example.com")
    login_as(client, "someone-else@example.com")
    assert client.get(url).status_code == 404


def test_a_session_address_cannot_be_worked_out_from_the_order(app):
    with app.app_context():
        session_id = session_id_for("order:1:1")
    assert session_id.startswith("cs_sim_") and len(session_id) == len("cs_sim_") + 32
    assert hashlib.sha256(b"order:1:1").hexdigest()[:24] not in session_id
