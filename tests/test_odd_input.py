"""Odd input is a clear 404, 400 or 422, never a server error: huge ids, deep JSON, NUL characters.

Run on SQLite and PostgreSQL: SQLite cannot bind an integer above 2**63 and stores NUL; PostgreSQL
refuses an INTEGER above 2**31 - 1 and a NUL in text at the database.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Club, User
from tests.clubs import start_club
from tests.helpers import PASSWORD, login_as, make_user, register_user

HUGE_IDS = ["99999999999999999999", str(2**31)]  # above SQLite's 64 bits; above PostgreSQL's INTEGER

GET_PATHS = [
    "/books/{id}",
    "/orders/{id}",
    "/donations/{id}",
    "/contests/{id}",
    "/contests/{id}/leaderboard",
    "/api/v1/books/{id}",
]
POST_PATHS = [
    "/orders/{id}/pay",
    "/donations/{id}/pay",
    "/contests/{id}/enter",
    "/contests/{id}/open",
    "/contests/{id}/flags",
    "/contests/flags/{id}/review",
    "/cart/items/{id}",
    "/cart/items/{id}/remove",
    "/clubs/{slug}/members/{id}/approve",
    "/clubs/{slug}/members/{id}/decline",
    "/clubs/{slug}/members/{id}/ban",
    "/clubs/{slug}/offers/{id}/accept",
    "/clubs/{slug}/wishlist/{id}/remove",
    "/clubs/{slug}/wishlist/{id}/buy",
    "/account/reading/{id}/delete",
]


@pytest.fixture
def owner(app):
    """A club owner, logged in (so every view would run its query): (client, slug)."""
    with app.app_context():
        slug = start_club(owner_email="owner@example.com").slug
    client = app.test_client()
    assert login_as(client, "owner@example.com").status_code == 303
    return client, slug


@pytest.mark.parametrize("huge", HUGE_IDS)
@pytest.mark.parametrize("method,path", [("GET", p) for p in GET_PATHS] + [("POST", p) for p in POST_PATHS])
def test_a_huge_id_in_a_url_is_not_found(owner, method, path, huge):
    client, slug = owner
    response = client.open(path.format(id=huge, slug=slug), method=method, data={"quantity": "1", "pages": "1"})
    assert response.status_code == 404


def test_huge_ids_in_query_and_form_values_are_no_such_thing(app, owner):
    client, slug = owner
    huge = HUGE_IDS[0]
    assert client.get(f"/notifications?before={huge}").status_code == 200
    added = client.post("/cart/add", data={"book_id": huge, "quantity": "1"})
    assert "That book is no longer available." in added.get_data(as_text=True)
    bought = client.post(f"/clubs/{slug}/wishlist/buy-from-fund", data={"item_id": huge})
    assert bought.status_code == 422 and "not on this club&#39;s wishlist" in bought.get_data(as_text=True)


def test_json_nested_thousands_deep_is_a_400_problem(client):
    deep = '{"email": ' + "[" * 5000 + "]" * 5000 + ', "password": "x"}'
    for path in ("/api/v1/auth/token", "/api/v1/auth/refresh", "/api/v1/auth/logout"):
        response = client.post(path, data=deep, content_type="application/json")
        assert response.status_code == 400 and response.mimetype == "application/problem+json"
        assert "nested too deeply" in response.get_json()["detail"]


# ---- NUL characters -----------------------------------------------------------------------------


def users_named(app, name_part: str) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(User.id)).where(User.name.contains(name_part)))


def test_a_nul_in_registration_is_refused_with_a_clear_422(app, client):
    response = register_user(client, email="nul@example.com", name="Nina\x00New")
    assert response.status_code == 422
    assert "“name” contains a NUL character" in response.get_data(as_text=True)
    assert users_named(app, "Nina") == 0
    # The same form without the NUL works.
    assert register_user(client, email="nul@example.com", name="Nina New").status_code == 303


def test_a_nul_in_a_new_club_is_refused_with_a_clear_422(app, owner):
    client, _ = owner
    response = client.post(
        "/clubs/new", data={"name": "Night\x00Owls", "city": "Lyon", "country": "France", "visibility": "public"}
    )
    assert response.status_code == 422 and "“name” contains a NUL character" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(Club.id)).where(Club.name.contains("Night"))) == 0


@pytest.mark.parametrize("path", ["/books?q=du%00ne", "/clubs?q=%00"])
def test_a_nul_in_a_search_is_refused_with_422(client, path):
    response = client.get(path)
    assert response.status_code == 422
    assert "“q” contains a NUL character" in response.get_data(as_text=True)


def test_a_nul_in_an_api_search_is_a_422_problem_naming_the_field(client):
    response = client.get("/api/v1/books?q=%00")
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert response.get_json()["errors"] == {"q": ["Must not contain NUL characters (\\0)."]}


def test_a_nul_in_an_api_body_is_a_422_problem_naming_the_field(app, client):
    with app.app_context():
        make_user()
    response = client.post("/api/v1/auth/token", json={"email": "reader@example.com\x00", "password": PASSWORD})
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert response.get_json()["errors"] == {"email": ["Must not contain NUL characters (\\0)."]}
    # A field the API does not read is ignored, NUL or not: nothing of it is stored.
    ignored = client.post("/api/v1/auth/token", json={"email": "a@b.c", "password": "x", "extra": [{"k": "\x00"}]})
    assert ignored.status_code == 401


def test_a_nul_in_a_url_path_is_not_found(client):
    assert client.get("/clubs/night%00owls").status_code == 404
