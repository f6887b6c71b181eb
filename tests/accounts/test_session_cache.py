"""The signed-in reader comes from a cached snapshot; every change to them shows on the next request.

Each test first loads a page so the snapshot is cached, then changes the reader the way the
product does, then checks what the very next request sees. Without the invalidation the cached
snapshot would still be served (the cache lives 30 s in tests).
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.accounts.services import end_all_sessions
from app.cart.services import clear_books_from_cart
from app.extensions import db
from app.models import CartItem, User
from tests.factories import make_book
from tests.helpers import login_as, make_user


@pytest.fixture
def reader(app):
    with app.app_context():
        return make_user().id


def signed_in_client(app):
    client = app.test_client()
    assert login_as(client).status_code in (302, 303)
    assert client.get("/cart").status_code == 200  # the snapshot is now cached
    return client


def change_reader(app, **values) -> None:
    with app.app_context():
        user = db.session.get(User, db.session.scalar(select(User.id).where(User.email == "reader@example.com")))
        for name, value in values.items():
            setattr(user, name, value)
        db.session.commit()


def header_name(client) -> str | None:
    page = client.get("/cart").get_data(as_text=True)
    return "Rosa Reader" if "Rosa Reader" in page else ("Renamed Reader" if "Renamed Reader" in page else None)


def test_a_signed_in_page_does_not_query_the_reader_again(app, reader, count_queries):
    client = signed_in_client(app)
    with count_queries() as q:
        assert client.get("/account").status_code == 200
    assert not any("FROM users" in s for s in q.statements), q.statements


def test_logging_out_everywhere_ends_another_device_on_its_next_request(app, reader):
    phone, laptop = signed_in_client(app), signed_in_client(app)
    with app.app_context():
        end_all_sessions(db.session.get(User, reader))  # a bulk UPDATE of users
    assert phone.get("/account").status_code == 302
    assert laptop.get("/account").status_code == 302


def test_a_disabled_account_is_signed_out_on_its_next_request(app, reader):
    client = signed_in_client(app)
    change_reader(app, is_disabled=True)
    assert client.get("/account").status_code == 302


def test_a_session_version_bump_ends_the_session_on_its_next_request(app, reader):
    client = signed_in_client(app)
    change_reader(app, session_version=User.session_version + 1)
    assert client.get("/account").status_code == 302


def test_an_admin_role_given_or_taken_applies_on_the_next_request(app, reader):
    client = signed_in_client(app)
    assert client.get("/contests/new").status_code == 403
    change_reader(app, is_admin=True)
    assert client.get("/contests/new").status_code == 200
    change_reader(app, is_admin=False)
    assert client.get("/contests/new").status_code == 403


def test_a_new_name_shows_in_the_header_on_the_next_request(app, reader):
    client = signed_in_client(app)
    assert header_name(client) == "Rosa Reader"
    change_reader(app, name="Renamed Reader")
    assert header_name(client) == "Renamed Reader"


def cart_badge(client) -> str:
    page = client.get("/account").get_data(as_text=True)
    start = page.index('id="cart-count"')
    return page[page.index(">", start) + 1 : page.index("</span>", start)]


def test_the_header_cart_count_follows_every_cart_change(app, reader):
    with app.app_context():
        book_id = make_book(stock=10).id
    client = signed_in_client(app)
    assert cart_badge(client) == "0"
    client.post("/cart/add", data={"book_id": book_id, "quantity": 2})
    assert cart_badge(client) == "2"
    client.post(f"/cart/items/{book_id}", data={"quantity": 3})
    assert cart_badge(client) == "3"
    with app.app_context():  # paying for the books takes them out of the cart (a bulk DELETE)
        clear_books_from_cart(reader, [book_id])
        db.session.commit()
        assert db.session.scalar(select(CartItem.id).where(CartItem.user_id == reader)) is None
    assert cart_badge(client) == "0"


def nav_badge(client) -> str:
    page = client.get("/account").get_data(as_text=True)
    start = page.index('id="notification-badge"')
    return page[page.index(">", start) + 1 : page.index("</a>", start)]


def test_the_nav_shows_a_new_notification_and_its_reading_at_once(app, reader):
    from app.notifications.inbox import mark_read, notify

    client = signed_in_client(app)
    assert "unread" not in nav_badge(client)
    with app.app_context():
        notify(reader, kind="club", key="k1", title="Welcome to the club")
        db.session.commit()
    assert '>1<span class="visually-hidden"> unread' in nav_badge(client)
    assert '>1<span class="visually-hidden"> unread' in client.get("/notifications/badge").get_data(as_text=True)
    with app.app_context():
        mark_read(db.session.get(User, reader))  # a bulk UPDATE naming the reader
    assert "unread" not in nav_badge(client)
