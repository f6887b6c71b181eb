"""The simulated payment page lists what the card is charged: the books, the discount, shipping and
tax, and the total; paying sends that total, with Stripe's ``total_details``."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.extensions import db
from app.models import Book, Order, OrderStatus, PaymentEvent
from app.orders.services import pending_order
from app.payments.simulated import session_id_for
from tests.factories import make_books
from tests.helpers import login_as, make_user

SHIPPING = "Standard (3-5 working days)"


def order_to_pay(app, **snapshot) -> tuple[int, str]:
    """A pending order for two copies of an 11.00 book with ``snapshot`` columns, on the
    simulated gateway's page; returns its id and the page's path."""
    with app.app_context():
        [book_id] = [b.id for b in make_books([{"title": "Middlemarch", "price": "11.00", "stock": 4}])]
        reader = make_user()
        order = pending_order(reader.id, [(db.session.get(Book, book_id), 2)], gateway="simulated")
        order.checkout_session_id = session_id_for(f"order-test-{book_id}")
        for key, value in snapshot.items():
            setattr(order, key, value)
        db.session.add(order)
        db.session.commit()
        return order.id, f"/payments/simulated/{order.checkout_session_id}"


def pay(client, url: str):
    page = client.get(url).get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    return client.post(url, data={"action": "pay", **({"csrf_token": token[1]} if token else {})})


def rows(page: str) -> list[str]:
    """The payment page's table rows as text ("Middlemarch × 2 $22.00")."""
    table = page[page.index('<table class="sim-charges">') : page.index("</table>")]
    cells = [re.sub(r"<[^>]+>", " ", row) for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)]
    return [" ".join(cell.split()) for cell in cells]


TAXED = {
    "shipping_method": SHIPPING,
    "shipping_cents": 499,
    "discount_cents": 220,
    "discount_code": "WELCOME10",
    "tax_label": "VAT 5.5%",
    "tax_rate_bp": 550,
    "tax_cents": 136,
    "total_cents": 2200 - 220 + 499 + 136,
}


def test_the_page_lists_books_discount_shipping_tax_and_the_total(app, client):
    _, url = order_to_pay(app, **TAXED)
    assert login_as(client).status_code in (302, 303)

    page = client.get(url).get_data(as_text=True)

    assert rows(page) == [
        "Middlemarch × 2 $22.00",
        "Discount (WELCOME10) −$2.20",
        f"Shipping: {SHIPPING} $4.99",
        "Tax: VAT 5.5% $1.36",
        "Total $26.15",
    ]
    assert "Pay $26.15" in page


def test_paying_on_the_page_pays_the_order_with_the_listed_total(app, client, inbox):
    order_id, url = order_to_pay(app, **TAXED)
    assert login_as(client).status_code in (302, 303)

    assert pay(client, url).status_code == 303

    with app.app_context():
        order = db.session.get(Order, order_id)
        assert (order.status, order.total_cents, order.tax_cents) == (OrderStatus.PAID, 2615, 136)
        event = db.session.scalar(select(PaymentEvent))
        assert (event.type, event.amount_cents, event.applied) == ("checkout.session.completed", 2615, True)
        session = event.payload["data"]["object"]
        assert session["amount_total"] == 2615
        assert session["total_details"] == {"amount_discount": 220, "amount_shipping": 499, "amount_tax": 136}
    assert inbox.wait_for("reader@example.com")  # the receipt


def test_tax_the_prices_include_is_shown_but_not_added(app, client):
    order_id, url = order_to_pay(
        app,
        prices_include_tax=True,
        tax_label="VAT 20%",
        tax_rate_bp=2000,
        tax_cents=367,  # the part of 22.00 that is tax
        total_cents=2200,
    )
    assert login_as(client).status_code in (302, 303)

    page = client.get(url).get_data(as_text=True)
    assert rows(page) == ["Middlemarch × 2 $22.00", "Total $22.00", "Includes Tax: VAT 20%: $3.67"]

    assert pay(client, url).status_code == 303
    with app.app_context():
        order = db.session.get(Order, order_id)
        assert (order.status, order.total_cents) == (OrderStatus.PAID, 2200)
        total_details = db.session.scalar(select(PaymentEvent)).payload["data"]["object"]["total_details"]
        assert total_details == {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 367}


def test_an_order_without_charges_is_paid_for_its_books(app, client):
    order_id, url = order_to_pay(app)
    assert login_as(client).status_code in (302, 303)

    assert rows(client.get(url).get_data(as_text=True)) == ["Middlemarch × 2 $22.00", "Total $22.00"]
    assert pay(client, url).status_code == 303
    with app.app_context():
        order = db.session.get(Order, order_id)
        assert (order.status, order.total_cents) == (OrderStatus.PAID, 2200)
