"""Whole pages for visitors who are not signed in (app/page_cache.py): fast, yet never stale,
never shared with a reader, and every visitor keeps their own CSRF token."""

import re

import pytest

from app import create_app
from app.catalogue.services import set_price, set_stock
from app.extensions import db
from tests.conftest import make_config
from tests.factories import isbn_for, make_book
from tests.helpers import login_as, make_user

TOKEN = re.compile(r'"X-CSRFToken": "([^"]+)"')


def token_in(response) -> str:
    return TOKEN.search(response.get_data(as_text=True)).group(1)


@pytest.fixture
def hobbit(app):
    with app.app_context():
        book = make_book(title="The Hobbit", authors="J. R. R. Tolkien", price="12.00", stock=7, isbn=isbn_for(1))
        return book.id, book.isbn13


def test_a_visitor_gets_the_listing_from_the_cache_without_a_query(app, client, hobbit, count_queries):
    first = client.get("/books")
    with count_queries() as q:
        again = client.get("/books")
    assert q.count == 0
    assert again.status_code == 200 and "The Hobbit" in again.get_data(as_text=True)
    assert again.headers["Content-Type"].startswith("text/html")
    assert token_in(again) == token_in(first)  # the same visitor keeps their token


def test_each_visitor_gets_their_own_csrf_token_and_it_works(base_settings, hobbit):
    """With CSRF on, a token read from a cached page is accepted: an htmx "add to cart" goes through."""
    csrf_app = create_app(make_config(**base_settings, WTF_CSRF_ENABLED=True))
    alice, bob = csrf_app.test_client(), csrf_app.test_client()
    alice_page = alice.get("/books")  # stored for everyone, with Alice's token taken out
    bob_page = bob.get("/books")  # served from the cache, with Bob's token put in
    assert token_in(alice_page) != token_in(bob_page)
    assert "\x00" not in bob_page.get_data(as_text=True)
    book_id, _ = hobbit
    refused = bob.post("/cart/add", data={"book_id": book_id, "quantity": 1}, headers={"X-CSRFToken": "forged"})
    assert refused.status_code == 400
    added = bob.post("/cart/add", data={"book_id": book_id, "quantity": 1}, headers={"X-CSRFToken": token_in(bob_page)})
    assert added.status_code in (200, 303)
    assert "1" in bob.get("/cart/count").get_data(as_text=True)


def test_a_price_change_shows_at_once(app, client, hobbit):
    _, isbn = hobbit
    assert "$12.00" in client.get("/books").get_data(as_text=True)
    with app.app_context():
        set_price(isbn, "13.49")
    assert "$13.49" in client.get("/books").get_data(as_text=True)


def test_a_stock_change_shows_at_once(app, client, hobbit):
    _, isbn = hobbit
    assert 'book-stock in">In stock' in client.get("/books").get_data(as_text=True)
    with app.app_context():
        set_stock(isbn, 0)
    page = client.get("/books").get_data(as_text=True)
    assert 'book-stock out">Out of stock' in page and 'book-stock in"' not in page


def test_a_new_book_shows_at_once(app, client, hobbit):
    assert "Dracula" not in client.get("/books").get_data(as_text=True)
    with app.app_context():
        make_book(title="Dracula", isbn=isbn_for(2))
    assert "Dracula" in client.get("/books").get_data(as_text=True)


def test_a_change_made_through_another_process_shows_at_once(app, redis_app, hobbit):
    """Two processes share Redis: a price set through one is seen at once through the other."""
    _, isbn = hobbit
    other = create_app(make_config(**{**redis_app.config, "TESTING": True}))  # a second instance
    assert "$12.00" in redis_app.test_client().get("/books").get_data(as_text=True)
    with other.app_context():
        set_price(isbn, "14.00")
    assert "$14.00" in redis_app.test_client().get("/books").get_data(as_text=True)


def test_a_reader_never_gets_the_visitors_page(app, client, hobbit):
    with app.app_context():
        make_user(email="rosa@example.com", name="Rosa Reader")
    client.get("/books")  # a visitor's page is now cached
    login_as(client, "rosa@example.com")
    page = client.get("/books").get_data(as_text=True)
    assert "Rosa Reader" in page and "Log in" not in page


def test_a_visitor_with_a_cart_sees_their_count(app, client, hobbit):
    book_id, _ = hobbit
    other = app.test_client()
    other.get("/books")  # cached with an empty cart badge
    client.post("/cart/add", data={"book_id": book_id, "quantity": 2})
    page = client.get("/books").get_data(as_text=True)
    assert re.search(r'id="cart-count"[^>]*>\s*2\s*<', page), page[:2000]


def test_the_shell_and_a_browser_get_their_own_page(app, client, hobbit):
    browser = client.get("/books").get_data(as_text=True)
    shell = client.get("/books", headers={"User-Agent": "Mozilla/5.0 BookCommerceShell/1.0"}).get_data(as_text=True)
    assert 'class="container site-header"' in browser and 'class="container site-header"' not in shell
    assert 'class="container site-header"' in client.get("/books").get_data(as_text=True)


def test_htmx_requests_get_the_fragment_not_the_cached_page(app, client, hobbit):
    client.get("/books?q=hobbit")
    fragment = client.get("/books?q=hobbit", headers={"HX-Request": "true", "HX-Request-Type": "partial"})
    assert "<html" not in fragment.get_data(as_text=True) and "The Hobbit" in fragment.get_data(as_text=True)
    assert "<html" in client.get("/books?q=hobbit").get_data(as_text=True)


def test_the_cache_can_be_turned_off(base_settings, hobbit, count_queries):
    uncached = create_app(make_config(**base_settings, PAGE_CACHE_SECONDS=0, CACHE_TYPE="NullCache"))
    visitor = uncached.test_client()
    visitor.get("/books")
    with uncached.app_context():
        statements = []
        from sqlalchemy import event

        def record(*args):
            statements.append(args[2])

        event.listen(db.engine, "before_cursor_execute", record)
        try:
            visitor.get("/books")
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
    assert statements  # rendered from the database again


# ---- Signed-in readers: one shared page, each reader's header filled in ------------------------


def header_of(response) -> dict:
    html = response.get_data(as_text=True)
    return {
        "name": re.search(r'href="/account"[^>]*>([^<]*)</a>', html).group(1),
        "cart": re.search(r'id="cart-count"[^>]*>\s*(\d+)\s*<', html).group(1),
        "badge": re.search(r'id="notification-badge"[^>]*>(.*?)</span></a>', html, re.S).group(1),
    }


@pytest.fixture
def two_readers(app, hobbit):
    with app.app_context():
        rosa = make_user(email="rosa@example.com", name="Rosa Reader").id
        milo = make_user(email="milo@example.com", name="Milo <b>Member</b>").id
    first, second = app.test_client(), app.test_client()
    login_as(first, "rosa@example.com")
    login_as(second, "milo@example.com")
    return (first, rosa), (second, milo)


def test_each_reader_gets_the_shared_page_with_their_own_header(app, two_readers, hobbit, count_queries):
    (rosa, _), (milo, _) = two_readers
    book_id, _ = hobbit
    rosa.post("/cart/add", data={"book_id": book_id, "quantity": 2})
    rosa.get("/books")  # recorded with Rosa's header
    milo.get("/books")  # Milo's snapshot is loaded: his next page runs no query at all
    with count_queries() as q:
        page = milo.get("/books")
    assert q.count == 0, q.statements
    assert header_of(page) == {"name": "Milo &lt;b&gt;Member&lt;/b&gt;", "cart": "0", "badge": ""}
    assert "Rosa" not in page.get_data(as_text=True) and "\x00" not in page.get_data(as_text=True)
    assert header_of(rosa.get("/books"))["name"] == "Rosa Reader"
    assert header_of(rosa.get("/books"))["cart"] == "2"


def test_a_readers_cart_and_notifications_show_at_once_on_the_cached_page(app, two_readers, hobbit):
    from app.notifications.inbox import notify

    (rosa, rosa_id), (milo, _) = two_readers
    book_id, _ = hobbit
    milo.get("/books")
    assert header_of(rosa.get("/books"))["cart"] == "0"
    rosa.post("/cart/add", data={"book_id": book_id, "quantity": 1})
    assert header_of(rosa.get("/books"))["cart"] == "1"
    with app.app_context():
        notify(rosa_id, kind="club", key="test:1", title="Welcome to the club")
        db.session.commit()
    assert ">1<" in header_of(rosa.get("/books"))["badge"]
    assert header_of(milo.get("/books"))["badge"] == ""


def test_a_readers_token_from_the_cached_page_logs_them_out(base_settings, hobbit):
    csrf_app = create_app(make_config(**base_settings, WTF_CSRF_ENABLED=True))
    with csrf_app.app_context():
        make_user(email="rosa@example.com", name="Rosa Reader")
        make_user(email="milo@example.com", name="Milo Member")
    rosa, milo = csrf_app.test_client(), csrf_app.test_client()
    for client, email in ((rosa, "rosa@example.com"), (milo, "milo@example.com")):
        form = client.get("/auth/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form).group(1)
        client.post("/auth/login", data={"email": email, "password": "correct horse battery", "csrf_token": token})
    rosa.get("/books")
    page = milo.get("/books")  # from the cache, with Milo's token
    assert "Milo Member" in page.get_data(as_text=True)
    milo.post("/auth/logout", data={"csrf_token": token_in(page)})
    assert "Log in" in milo.get("/books").get_data(as_text=True)
    assert "Rosa Reader" in rosa.get("/books").get_data(as_text=True)
