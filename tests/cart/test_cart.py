"""The cart: visitors and readers, limits, htmx fragments, merging at log in."""

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import CartItem
from tests.factories import make_books
from tests.helpers import login_as, make_user

HTMX = {"HX-Request": "true", "HX-Request-Type": "partial"}


@pytest.fixture
def books(app):
    with app.app_context():
        made = make_books(
            [
                {"title": "Middlemarch", "price": "11.00", "stock": 4},
                {"title": "Ulysses", "price": "14.50", "stock": 1},
            ]
        )
        return [(b.id, b.title) for b in made]


def add(client, book_id, quantity=1, headers=None):
    return client.post("/cart/add", data={"book_id": book_id, "quantity": quantity}, headers=headers or {})


def test_a_visitor_fills_a_cart_and_sees_the_total(client, books):
    (middlemarch, _), (ulysses, _) = books
    assert add(client, middlemarch, 2).status_code == 303
    add(client, ulysses)
    page = client.get("/cart").get_data(as_text=True)
    assert "Middlemarch" in page and "Ulysses" in page
    assert "$36.50" in page  # 2 × 11.00 + 14.50
    assert 'aria-label="3 items in cart"' in page


def test_adding_with_htmx_updates_the_form_and_triggers_the_badge(client, books):
    middlemarch, title = books[0]
    response = add(client, middlemarch, 1, HTMX)
    assert response.status_code == 200
    assert b"Added to your cart." in response.data and b"<html" not in response.data
    assert "cart-changed" in response.headers["HX-Trigger"] and "toast" in response.headers["HX-Trigger"]
    badge = client.get("/cart/count", headers=HTMX)
    assert b">1</span>" in badge.data


def test_stock_and_line_limits_are_explained(client, books):
    ulysses = books[1][0]
    add(client, ulysses)
    response = add(client, ulysses, 1, HTMX)
    assert response.status_code == 422
    assert b"Only 1 in stock; you already have 1 in your cart." in response.data
    too_many = add(client, books[0][0], 50)
    assert too_many.status_code == 422 and b"Number must be between 1 and 20." in too_many.data
    unknown = add(client, 999999)
    assert unknown.status_code == 422 and b"That book is no longer available." in unknown.data


def test_changing_quantity_and_removing_with_htmx(client, books):
    middlemarch = books[0][0]
    add(client, middlemarch)
    changed = client.post(f"/cart/items/{middlemarch}", data={"quantity": 3}, headers=HTMX)
    assert changed.status_code == 200 and b"$33.00" in changed.data
    assert "cart-changed" in changed.headers["HX-Trigger"]
    refused = client.post(f"/cart/items/{middlemarch}", data={"quantity": 9}, headers=HTMX)
    assert refused.status_code == 422 and b"Only 4 copies left." in refused.data
    removed = client.post(f"/cart/items/{middlemarch}/remove", headers=HTMX)
    assert b"Your cart is empty." in removed.data


def test_a_readers_cart_is_saved_in_the_database(app, client, books):
    with app.app_context():
        user_id = make_user().id
    login_as(client)
    add(client, books[0][0], 2)
    with app.app_context():
        item = db.session.scalar(select(CartItem).where(CartItem.user_id == user_id))
        assert (item.book_id, item.quantity) == (books[0][0], 2)
    other_device = app.test_client()
    login_as(other_device)
    assert "Middlemarch" in other_device.get("/cart").get_data(as_text=True)


def test_the_visitor_cart_merges_into_the_account_at_log_in(app, client, books):
    with app.app_context():
        make_user()
    saved_device = app.test_client()
    login_as(saved_device)
    add(saved_device, books[0][0], 1)

    add(client, books[0][0], 2)
    add(client, books[1][0], 1)
    login_as(client)
    page = client.get("/cart").get_data(as_text=True)
    assert 'aria-label="4 items in cart"' in page  # 1 saved + 2 + 1 from the visit
    with client.session_transaction() as session:
        assert "cart" not in session


def test_adding_past_the_stock_says_what_happened(client, books):
    middlemarch, title = books[0]  # 4 in stock
    add(client, middlemarch, 3)
    capped = add(client, middlemarch, 2, HTMX)
    assert capped.status_code == 200
    assert b"Added 1 (only 4 in stock)." in capped.data
    assert "Added 1 (only 4 in stock)" in capped.headers["HX-Trigger"]
    full = add(client, middlemarch, 2, HTMX)
    assert full.status_code == 422
    assert b"Only 4 in stock; you already have 4 in your cart." in full.data
    assert "toast" not in full.headers.get("HX-Trigger", "")
    badge = client.get("/cart/count", headers=HTMX)
    assert b">4</span>" in badge.data
