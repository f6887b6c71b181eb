"""The signed-in reader in the shell: who they are, their clubs, orders, donations and phones."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.clubs.services import join_club
from app.donations.services import create_donation
from app.extensions import db
from app.models import Club, Device, Order, OrderLine, User
from app.models.base import utcnow
from app.notifications.inbox import notify
from tests.api import API, api_login, assert_shape, bearer, problem_of
from tests.clubs import start_club
from tests.factories import make_book
from tests.helpers import login_as, make_user

READER = "reader@example.com"


@pytest.fixture
def token(client, app):
    with app.app_context():
        make_user(email=READER, name="Rosa Reader", time_zone="Europe/Paris")
    return api_login(client, READER)


def reader_in(app) -> User:
    return db.session.scalar(select(User).where(User.email == READER))


def test_me_says_who_you_are_and_how_many_notifications_wait(client, app, token):
    with app.app_context():
        user = reader_in(app)
        notify(user.id, kind="order", key="n1", title="Your order is paid")
        notify(user.id, kind="club", key="n2", title="Welcome")
        db.session.commit()
    response = client.get(f"{API}/me", headers=bearer(token))
    assert response.status_code == 200
    me = response.get_json()
    assert_shape(me, "Reader")
    assert (me["email"], me["name"], me["verified"], me["time_zone"]) == (READER, "Rosa Reader", True, "Europe/Paris")
    assert me["unread_notifications"] == 2


def test_me_needs_a_valid_bearer_token(client, token):
    problem_of(client.get(f"{API}/me"), 401)
    problem_of(client.get(f"{API}/me", headers=bearer(token + "x")), 401)
    problem_of(client.get(f"{API}/me", headers={"Authorization": f"Basic {token}"}), 401)


def test_a_web_session_cookie_never_authorises_the_api(client, token):
    assert login_as(client, READER).status_code in (302, 303)
    assert client.get("/account").status_code == 200  # signed in on the site
    problem_of(client.get(f"{API}/me"), 401)
    problem_of(client.get(f"{API}/me/orders"), 401)
    problem_of(client.post(f"{API}/devices", json={"platform": "ios", "push_token": "abc"}), 401)


def test_my_clubs_show_my_role_and_status(client, app, token):
    with app.app_context():
        user = reader_in(app)
        paris = start_club(name="Paris Readers")
        start_club(name="Secret Circle", visibility="private")
        start_club(name="Alfama", owner_email=READER)
        join_club(db.session.get(Club, paris.id), user)
    assert client.post(f"{API}/clubs/secret-circle/join", headers=bearer(token)).status_code == 201
    response = client.get(f"{API}/me/clubs", headers=bearer(token))
    body = response.get_json()
    assert_shape(body, "MyClubPage")
    rows = [(c["name"], c["role"], c["status"]) for c in body["items"]]
    assert rows == [
        ("Alfama", "owner", "active"),
        ("Paris Readers", "member", "active"),
        ("Secret Circle", "member", "pending"),
    ]
    page = client.get(f"{API}/me/clubs?per_page=2&page=2", headers=bearer(token))
    assert [c["name"] for c in page.get_json()["items"]] == ["Secret Circle"]
    assert 'rel="prev"' in page.headers["Link"] and page.headers["X-Total-Count"] == "3"
    problem_of(client.get(f"{API}/me/clubs?per_page=101", headers=bearer(token)), 422)


def test_my_orders_newest_first_with_their_copies(client, app, token):
    with app.app_context():
        user = reader_in(app)
        book = make_book(title="Kindred")
        for copies, status in ((2, "paid"), (1, "pending")):
            order = Order(user_id=user.id, total_cents=999 * copies, gateway="simulated", status=status)
            order.lines.append(
                OrderLine(book_id=book.id, title=book.title, isbn13=book.isbn13, unit_price_cents=999, quantity=copies)
            )
            db.session.add(order)
        db.session.commit()
    body = client.get(f"{API}/me/orders", headers=bearer(token)).get_json()
    assert_shape(body, "OrderPage")
    assert [(o["status"], o["total_cents"], o["copies"]) for o in body["items"]] == [
        ("pending", 999, 1),
        ("paid", 1998, 2),
    ]
    assert body["items"][0]["url"].endswith(f"/orders/{body['items'][0]['id']}")


def test_my_donations_with_their_clubs(client, app, token):
    with app.app_context():
        user = reader_in(app)
        paris = db.session.get(Club, start_club(name="Paris Readers").id)
        create_donation(paris, user, 2500, "For poetry", anonymous=True)
    body = client.get(f"{API}/me/donations", headers=bearer(token)).get_json()
    assert_shape(body, "MyDonationPage")
    [donation] = body["items"]
    assert donation["club"] == {"slug": "paris-readers", "name": "Paris Readers"}
    assert (donation["amount_cents"], donation["status"], donation["anonymous"]) == (2500, "pending", True)
    assert donation["created_at"].endswith("Z")


def test_a_phone_registers_once_and_moves_with_its_token(client, app, token):
    url, body = f"{API}/devices", {"platform": "ios", "push_token": "a1b2c3:APA91b-token_x"}
    first = client.post(url, json=body, headers=bearer(token))
    assert first.status_code == 201
    assert_shape(first.get_json(), "Device")
    with app.app_context():
        device = db.session.scalar(select(Device))
        device.last_seen_at = utcnow() - timedelta(days=3)
        db.session.commit()
    again = client.post(url, json=body, headers=bearer(token))
    assert again.status_code == 200 and again.get_json()["id"] == first.get_json()["id"]
    with app.app_context():
        make_user(email="other@example.com", name="Otto")
        assert utcnow() - db.session.scalar(select(Device)).last_seen_at < timedelta(minutes=1)
    moved = client.post(
        url, json={**body, "platform": "android"}, headers=bearer(api_login(client, "other@example.com"))
    )
    assert moved.status_code == 201
    with app.app_context():
        [device] = db.session.scalars(select(Device)).all()
        assert (device.user_id, device.platform) == (
            db.session.scalar(select(User.id).where(User.email == "other@example.com")),
            "android",
        )


def test_a_phone_registration_is_checked(client, token):
    url = f"{API}/devices"
    for body, fields in (
        ({}, {"platform", "push_token"}),
        ({"platform": "windows", "push_token": "abc"}, {"platform"}),
        ({"platform": "ios", "push_token": "has spaces"}, {"push_token"}),
        ({"platform": "ios", "push_token": ""}, {"push_token"}),
        ({"platform": "ios", "push_token": "x" * 513}, {"push_token"}),
        ({"platform": None, "push_token": 12}, {"platform", "push_token"}),
    ):
        assert set(problem_of(client.post(url, json=body, headers=bearer(token)), 422)["errors"]) == fields, body
    problem_of(client.post(url, data="ios", headers=bearer(token)), 400)
