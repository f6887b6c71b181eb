"""Cached pages answered before Flask (app/page_serving.py): the same page, headers and limits as
Flask would give, and never when something about the reader or the page has changed."""

import re

import pytest
from prometheus_client import REGISTRY

from app import create_app
from app.accounts.services import end_all_sessions
from app.catalogue.services import set_price
from app.extensions import db
from app.models import User
from tests.conftest import make_config
from tests.factories import isbn_for, make_book
from tests.helpers import login_as, make_user

TOKEN = re.compile(r'"X-CSRFToken": "([^"]+)"')


@pytest.fixture
def hobbit(app):
    with app.app_context():
        book = make_book(title="The Hobbit", authors="J. R. R. Tolkien", price="12.00", stock=7, isbn=isbn_for(1))
        return book.id, book.isbn13


@pytest.fixture
def flask_requests(app):
    """How many requests reached Flask's own request handling (its before-request hooks)."""
    seen = []
    app.before_request_funcs.setdefault(None, []).append(lambda: seen.append(1) and None)
    return seen


def settled(client, path="/books", **kwargs):
    """Three visits: the first gives a session, the second settles it (Flask-Login marks it), the
    third is the first Flask answers from the cache without changing the session."""
    for _ in range(3):
        response = client.get(path, **kwargs)
        assert response.status_code == 200
    return response


def served_count(endpoint: str) -> float:
    return (
        REGISTRY.get_sample_value(
            "bookcommerce_http_requests_total", {"endpoint": endpoint, "method": "GET", "status": "200"}
        )
        or 0.0
    )


def test_a_returning_visitor_gets_the_cached_page_without_flask(app, client, hobbit, flask_requests, count_queries):
    through_flask = settled(client)
    before, counted = len(flask_requests), served_count("catalogue.books")
    with count_queries() as q:
        answer = client.get("/books")
    assert len(flask_requests) == before  # answered before Flask
    assert q.count == 0
    assert answer.get_data() == through_flask.get_data()  # the same page, the same visitor's token
    assert answer.headers["Content-Type"] == "text/html; charset=utf-8"
    assert answer.headers["Vary"] == through_flask.headers["Vary"]
    assert "Content-Security-Policy" in answer.headers and answer.headers["X-Frame-Options"] == "DENY"
    assert answer.headers["X-Request-ID"] and answer.headers["X-Request-ID"] != through_flask.headers["X-Request-ID"]
    assert int(answer.headers["Content-Length"]) == len(answer.get_data())
    assert "Set-Cookie" not in answer.headers
    assert served_count("catalogue.books") == counted + 1  # still in the request metrics


def test_head_gives_the_headers_without_the_page(app, client, hobbit, flask_requests):
    page = settled(client)
    before = len(flask_requests)
    head = client.head("/books")
    assert len(flask_requests) == before
    assert head.status_code == 200 and head.get_data() == b""
    assert int(head.headers["Content-Length"]) == len(page.get_data())


def test_a_price_change_shows_at_once_to_a_returning_visitor(app, client, hobbit, flask_requests):
    _, isbn = hobbit
    assert "$12.00" in settled(client).get_data(as_text=True)
    with app.app_context():
        set_price(isbn, "13.49")
    page = client.get("/books").get_data(as_text=True)
    assert "$13.49" in page and "$12.00" not in page
    before = len(flask_requests)
    assert "$13.49" in client.get("/books").get_data(as_text=True)
    assert len(flask_requests) == before  # the new page is the cached one now


def test_the_token_of_a_page_answered_before_flask_works(base_settings, hobbit):
    csrf_app = create_app(make_config(**base_settings, WTF_CSRF_ENABLED=True))
    visitor = csrf_app.test_client()
    page = settled(visitor)
    again = visitor.get("/books")
    token = TOKEN.search(again.get_data(as_text=True)).group(1)
    assert token == TOKEN.search(page.get_data(as_text=True)).group(1)
    book_id, _ = hobbit
    added = visitor.post("/cart/add", data={"book_id": book_id, "quantity": 2}, headers={"X-CSRFToken": token})
    assert added.status_code in (200, 303)
    # Now the session holds a cart: the visitor gets their own count, from Flask.
    assert re.search(r'id="cart-count"[^>]*>\s*2\s*<', visitor.get("/books").get_data(as_text=True))


def test_a_search_still_counts_against_the_search_limit(base_settings, hobbit):
    limited = create_app(make_config(**base_settings, SEARCH_LIMIT_PER_IP="3 per minute"))
    visitor = limited.test_client()
    answers = [visitor.get("/books?q=hobbit").status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]


def test_an_unknown_host_is_refused_even_for_a_cached_page(base_settings, hobbit):
    strict = create_app(make_config(**base_settings, TRUSTED_HOSTS=["localhost"]))
    visitor = strict.test_client()
    settled(visitor)
    assert visitor.get("/books", headers={"Host": "evil.example"}).status_code == 400


# ---- Signed-in readers ---------------------------------------------------------------------


def header_name(response) -> str:
    return re.search(r'href="/account"[^>]*>([^<]*)</a>', response.get_data(as_text=True)).group(1)


def cart_badge(response) -> str:
    return re.search(r'id="cart-count"[^>]*>\s*(\d+)\s*<', response.get_data(as_text=True)).group(1)


@pytest.fixture
def rosa(app, hobbit):
    with app.app_context():
        user_id = make_user(email="rosa@example.com", name="Rosa <i>Reader</i>").id
    client = app.test_client()
    login_as(client, "rosa@example.com")
    return client, user_id


def test_a_reader_gets_the_shared_page_with_their_own_header_without_flask(app, rosa, flask_requests, count_queries):
    client, _ = rosa
    settled(client)
    before = len(flask_requests)
    with count_queries() as q:
        page = client.get("/books")
    assert len(flask_requests) == before and q.count == 0
    assert header_name(page) == "Rosa &lt;i&gt;Reader&lt;/i&gt;" and cart_badge(page) == "0"
    assert "Log in" not in page.get_data(as_text=True) and "\x00" not in page.get_data(as_text=True)


def test_a_readers_cart_shows_at_once(app, rosa, hobbit):
    client, _ = rosa
    book_id, _ = hobbit
    settled(client)
    client.post("/cart/add", data={"book_id": book_id, "quantity": 3})
    assert cart_badge(client.get("/books")) == "3"
    assert cart_badge(client.get("/books")) == "3"


def test_log_out_everywhere_ends_the_session_at_once(app, rosa, flask_requests):
    client, user_id = rosa
    settled(client)
    with app.app_context():
        end_all_sessions(db.session.get(User, user_id))
    page = client.get("/books").get_data(as_text=True)
    assert "Log in" in page and "Rosa" not in page


def test_a_deactivated_reader_is_signed_out_at_once(app, rosa):
    client, user_id = rosa
    settled(client)
    with app.app_context():
        db.session.get(User, user_id).is_disabled = True
        db.session.commit()
    assert "Log in" in client.get("/books").get_data(as_text=True)


def test_the_same_session_from_another_browser_goes_through_flask(app, rosa, flask_requests):
    """Flask-Login's session protection sees another user agent: Flask answers (and marks the
    session not fresh), not the page server."""
    client, _ = rosa
    settled(client)
    before = len(flask_requests)
    other = client.get("/books", headers={"User-Agent": "Another browser/1.0"})
    assert len(flask_requests) == before + 1
    assert other.status_code == 200 and "Set-Cookie" in other.headers


def test_on_redis_a_change_through_another_instance_shows_at_once(redis_app, hobbit):
    """Two instances share Redis: the page one answers before Flask follows a price set through the other."""
    _, isbn = hobbit
    other = create_app(make_config(**{**redis_app.config, "TESTING": True}))
    seen = []
    redis_app.before_request_funcs.setdefault(None, []).append(lambda: seen.append(1) and None)
    visitor = redis_app.test_client()
    assert "$12.00" in settled(visitor).get_data(as_text=True)
    before = len(seen)
    assert "$12.00" in visitor.get("/books").get_data(as_text=True)
    assert len(seen) == before  # answered before Flask, from Redis's versions
    with other.app_context():
        set_price(isbn, "14.00")
    assert "$14.00" in visitor.get("/books").get_data(as_text=True)
