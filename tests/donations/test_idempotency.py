"""Resent donate and checkout forms: one donation, one order, the same answer; also at the same moment.

The concurrent tests run on whichever database the suite uses (more threads on PostgreSQL, where
the unique key's wait-then-conflict is the point; a few on SQLite, whose writers queue).
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.clubs.services import create_club
from app.donations.services import create_donation, start_donation_checkout
from app.extensions import db
from app.models import Book, CartItem, Club, Donation, Order, User
from app.orders.services import create_order_from_cart, start_checkout
from tests.concurrency import all_at_once
from tests.conftest import database_is_postgres
from tests.donations import count, open_club, reader
from tests.factories import isbn_for, make_books
from tests.helpers import make_user
from tests.shop import choose_address, choose_method, open_shop, pay

DONOR = "donor@example.com"
KEY = re.compile(r'name="idempotency_key" type="hidden" value="([^"]+)"')


@pytest.fixture
def slug(app):
    return open_club(app)


@pytest.fixture
def donor(app, slug):
    return reader(app, DONOR, "Dora Donor")


def form_key(page: str) -> str:
    found = KEY.search(page)
    assert found, "the form carries no one-time key"
    return found[1]


def test_the_same_donate_form_sent_twice_makes_one_donation(app, donor, slug):
    key = form_key(donor.get(f"/clubs/{slug}/donate").get_data(as_text=True))
    assert key != form_key(donor.get(f"/clubs/{slug}/donate").get_data(as_text=True))  # one per rendering

    data = {"amount": "25", "message": "Twice", "idempotency_key": key}
    first = donor.post(f"/clubs/{slug}/donate", data=data)
    second = donor.post(f"/clubs/{slug}/donate", data=data)

    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert count(app, Donation.id) == 1


def test_a_key_reused_with_another_amount_is_refused_in_place(app, donor, slug):
    key = form_key(donor.get(f"/clubs/{slug}/donate").get_data(as_text=True))
    donor.post(f"/clubs/{slug}/donate", data={"amount": "25", "idempotency_key": key})
    again = donor.post(f"/clubs/{slug}/donate", data={"amount": "40", "idempotency_key": key})
    page = again.get_data(as_text=True)
    assert again.status_code == 422
    assert "This form was already sent with other details" in page
    assert form_key(page) != key  # the corrected form is a new submission
    assert count(app, Donation.id) == 1


def test_a_damaged_key_is_refused_in_place_and_a_missing_one_is_fine(app, donor, slug):
    key = form_key(donor.get(f"/clubs/{slug}/donate").get_data(as_text=True))
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", key)  # a fresh random key, not a counter or a constant

    for damaged in ("short", "x" * 65, key[:-1] + "/", key + "\n"):
        answer = donor.post(f"/clubs/{slug}/donate", data={"amount": "25", "idempotency_key": damaged})
        page = answer.get_data(as_text=True)
        assert answer.status_code == 422, damaged
        assert re.search(r">\s*This form is damaged; reload the page\.\s*<", page), page
        assert 'value="25"' in page  # what the donor typed is kept
    assert count(app, Donation.id) == 0

    # An old page without the field (or a client that sends none) still gives, just once per send.
    assert donor.post(f"/clubs/{slug}/donate", data={"amount": "25"}).status_code == 303
    assert donor.post(f"/clubs/{slug}/donate", data={"amount": "25", "idempotency_key": ""}).status_code == 303
    assert count(app, Donation.id) == 2


def test_the_api_takes_an_idempotency_key_header(app, client, slug):
    with app.app_context():
        make_user(email="api@example.com")
    tokens = client.post("/api/v1/auth/token", json={"email": "api@example.com", "password": "correct horse battery"})
    headers = {"Authorization": f"Bearer {tokens.get_json()['access_token']}", "Idempotency-Key": "mobile-tap-0001"}
    url = f"/api/v1/clubs/{slug}/donations"
    first = client.post(url, json={"amount_cents": 2500}, headers=headers)
    second = client.post(url, json={"amount_cents": 2500}, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.get_json() == second.get_json()
    assert count(app, Donation.id) == 1
    other = client.post(url, json={"amount_cents": 900}, headers=headers)
    assert other.status_code == 409 and "already sent" in other.get_json()["detail"]
    bad = client.post(url, json={"amount_cents": 2500}, headers={**headers, "Idempotency-Key": "x\u00e9"})
    assert bad.status_code == 400


def test_the_same_checkout_form_sent_twice_makes_one_order(app, client):
    with app.app_context():
        user = make_user(email="buyer@example.com")
        [book] = make_books([{"title": "Once", "isbn": isbn_for(77), "price": "12.00", "stock": 5}])
        db.session.add(CartItem(user_id=user.id, book_id=book.id, quantity=1))
        db.session.commit()
        open_shop()
    client.post("/auth/login", data={"email": "buyer@example.com", "password": "correct horse battery"})
    choose_address(client)
    choose_method(client, "Standard")
    key = form_key(client.get("/checkout/review").get_data(as_text=True))
    first = pay(client, key)
    second = pay(client, key)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert count(app, Order.id) == 1


def test_concurrent_resends_of_one_donate_form_make_one_donation(app, busy_app, inbox):
    threads = 40 if database_is_postgres(app) else 8
    busy = busy_app(threads + 2)
    with busy.app_context():
        owner = make_user(email="owner@example.com")
        club_id = create_club(owner, name="Burst Club", city="Lisbon", country="Portugal", visibility="public").id
        donor_id = make_user(email=DONOR).id

    def donate(start):
        start()
        with busy.test_request_context():
            club, donor = db.session.get(Club, club_id), db.session.get(User, donor_id)
            donation = create_donation(club, donor, 2500, "burst", idempotency_key="form-key-burst-1")
            return donation.id, start_donation_checkout(donation, donor)

    results, errors = all_at_once(busy, [donate] * threads)
    assert errors == []
    assert len(results) == threads and len(set(results)) == 1  # same donation, same payment page
    with busy.app_context():
        assert db.session.scalar(select(func.count(Donation.id))) == 1


def test_concurrent_resends_of_one_checkout_form_make_one_order(app, busy_app, inbox):
    threads = 40 if database_is_postgres(app) else 8
    busy = busy_app(threads + 2)
    with busy.app_context():
        buyer_id = make_user(email="buyer@example.com").id
        books = make_books([{"title": "Burst", "isbn": isbn_for(78), "price": "9.00", "stock": 50}])
        db.session.add(CartItem(user_id=buyer_id, book_id=books[0].id, quantity=2))
        db.session.commit()

    def checkout(start):
        start()
        with busy.test_request_context():
            buyer = db.session.get(User, buyer_id)
            order = create_order_from_cart(buyer, "checkout-key-burst-1")
            return order.id, start_checkout(order, buyer)

    results, errors = all_at_once(busy, [checkout] * threads)
    assert errors == []
    assert len(results) == threads and len(set(results)) == 1
    with busy.app_context():
        assert db.session.scalar(select(func.count(Order.id))) == 1
        assert db.session.scalar(select(Book.stock)) == 50  # nothing paid yet
