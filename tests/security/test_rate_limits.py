"""Search and the payment webhook are limited per client address, without touching other pages."""

import pytest

from app import create_app
from app.extensions import limiter
from tests.conftest import make_config


def limited_app(base_settings, **settings):
    """The same database as ``app``, with small limits; fresh counters."""
    application = create_app(
        make_config(**base_settings, SEARCH_LIMIT_PER_IP="3 per minute", WEBHOOK_LIMIT="2 per minute", **settings)
    )
    with application.app_context():
        limiter.reset()
    yield application
    with application.app_context():
        limiter.reset()


@pytest.fixture
def strict_app(app, base_settings):
    """Reached directly, as configured by default (PROXY_COUNT unset)."""
    yield from limited_app(base_settings)


@pytest.fixture
def proxied_app(app, base_settings):
    """Behind one proxy, as gunicorn.conf.py runs it behind nginx."""
    yield from limited_app(base_settings, PROXY_COUNT=1)


def from_address(address: str) -> dict:
    return {"environ_base": {"REMOTE_ADDR": address}}


def test_search_is_limited_per_address_across_site_and_api(strict_app):
    client = strict_app.test_client()
    me = from_address("192.0.2.10")
    assert client.get("/books?q=austen", **me).status_code == 200
    assert client.get("/api/v1/books?q=austen", **me).status_code == 200
    assert client.get("/books?q=eliot", **me).status_code == 200
    limited = client.get("/books?q=woolf", **me)
    assert limited.status_code == 429 and "Retry-After" in limited.headers
    api = client.get("/api/v1/books?q=woolf", **me)
    assert api.status_code == 429 and api.mimetype == "application/problem+json"
    # Browsing without a search term is not a search, and other readers have their own budget.
    assert client.get("/books", **me).status_code == 200
    assert client.get("/books?q=", **me).status_code == 200
    assert client.get("/books?q=woolf", **from_address("192.0.2.11")).status_code == 200


def test_browsing_without_a_search_term_uses_none_of_the_search_budget(strict_app):
    """Only a text search counts: browsing, filtering and paging on either endpoint are exempt."""
    client = strict_app.test_client()
    me = from_address("192.0.2.12")
    for path in ("/books", "/books?genre=Classics&page=2", "/books?q=+", "/api/v1/books", "/api/v1/books?sort=title"):
        for _ in range(4):  # more than the budget of 3
            assert client.get(path, **me).status_code == 200, path
    # The whole budget is still there for searching.
    assert [client.get(f"/api/v1/books?q=term{n}", **me).status_code for n in range(4)] == [200, 200, 200, 429]
    # And once it is spent, browsing through the API still answers.
    assert client.get("/api/v1/books", **me).status_code == 200


def test_reached_directly_a_forwarded_for_header_changes_nothing(strict_app):
    """By default no proxy is trusted: a client cannot get a fresh budget by writing X-Forwarded-For."""
    client = strict_app.test_client()
    statuses = [
        client.get(
            "/books?q=x", headers={"X-Forwarded-For": f"198.51.100.{n}"}, **from_address("192.0.2.30")
        ).status_code
        for n in range(4)
    ]
    assert statuses == [200, 200, 200, 429]


def test_the_proxy_address_is_not_the_key(proxied_app):
    """Behind nginx every request comes from 127.0.0.1: the limit follows X-Forwarded-For's last hop."""
    client = proxied_app.test_client()
    for _ in range(3):
        assert client.get("/books?q=x", headers={"X-Forwarded-For": "198.51.100.1"}).status_code == 200
    assert client.get("/books?q=x", headers={"X-Forwarded-For": "198.51.100.1"}).status_code == 429
    assert client.get("/books?q=x", headers={"X-Forwarded-For": "198.51.100.2"}).status_code == 200


def test_stripe_webhook_is_limited_per_address(strict_app):
    client = strict_app.test_client()
    statuses = [
        client.post("/payments/stripe/webhook", data=b"{}", **from_address("192.0.2.20")).status_code for _ in range(3)
    ]
    assert 429 not in statuses[:2] and statuses[2] == 429
    assert client.post("/payments/stripe/webhook", data=b"{}", **from_address("192.0.2.21")).status_code != 429


def test_the_test_settings_do_not_limit_search(client):
    for _ in range(30):
        assert client.get("/books?q=anything").status_code == 200
