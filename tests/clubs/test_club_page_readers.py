"""The club page cached whole: each reader gets the page for their place in the club, and any
change to the club, its members, fund, shelf or wishlist shows at once."""

import re

import pytest
from sqlalchemy import update

from app.extensions import db
from app.models import Membership, MemberStatus, Role
from tests.clubs import add_member, start_club
from tests.clubs.test_membership import give, put_on_shelf
from tests.helpers import login_as, make_user


@pytest.fixture
def club(app):
    with app.app_context():
        found = start_club(name="Cached Club", visibility="private", description="We read slowly.")
        make_user(email="mia@example.com", name="Mia Member")
        make_user(email="otto@example.com", name="Otto Outsider")
        add_member(found.id, "mia@example.com", "Mia Member")
        db.session.commit()
        return found


def reader(app, email):
    client = app.test_client()
    login_as(client, email)
    return client


@pytest.fixture
def flask_requests(app):
    seen = []
    app.before_request_funcs.setdefault(None, []).append(lambda: seen.append(1) and None)
    return seen


def test_each_reader_gets_the_page_for_their_place_in_the_club(app, club, flask_requests, count_queries):
    owner, mia, otto = (reader(app, e) for e in ("owner@example.com", "mia@example.com", "otto@example.com"))
    path = f"/clubs/{club.slug}"
    for _ in range(3):
        pages = {
            name: c.get(path).get_data(as_text=True) for name, c in (("owner", owner), ("mia", mia), ("otto", otto))
        }
    assert "You own this club." in pages["owner"] and "Olive Owner" in pages["owner"]
    assert "You are a member of this club." in pages["mia"] and "Mia Member" in pages["mia"]
    assert "We read slowly." in pages["mia"]  # a private club's inside, for its members
    assert "Ask to join" in pages["otto"] and "You are a member" not in pages["otto"]
    before = len(flask_requests)
    with count_queries() as q:
        again = mia.get(path).get_data(as_text=True)
    assert q.count == 0 and len(flask_requests) == before  # answered before Flask
    assert again == pages["mia"]


def test_joining_and_a_role_change_show_at_once(app, club):
    otto = reader(app, "otto@example.com")
    path = f"/clubs/{club.slug}"
    for _ in range(3):
        assert "Ask to join" in otto.get(path).get_data(as_text=True)
    with app.app_context():
        add_member(club.id, "otto@example.com", "Otto Outsider")
        db.session.commit()
    assert "You are a member of this club." in otto.get(path).get_data(as_text=True)
    with app.app_context():  # a bulk UPDATE, as an admin command might do
        db.session.execute(
            update(Membership)
            .where(Membership.club_id == club.id, Membership.status == MemberStatus.ACTIVE)
            .values(role=Role.MODERATOR)
        )
        db.session.commit()
    page = otto.get(path).get_data(as_text=True)
    assert "You are a moderator of this club." in page


def test_a_donation_and_a_shelf_book_show_at_once(app, club):
    mia = reader(app, "mia@example.com")
    path = f"/clubs/{club.slug}"
    for _ in range(3):
        mia.get(path)
    with app.app_context():
        give(club.id, "mia@example.com", "Mia Member", 2500)
        put_on_shelf(club.id, ["The Slow Reader"])
    page = mia.get(path).get_data(as_text=True)
    assert re.search(r"\$25\.00", page) and "The Slow Reader" in page


def test_a_visitor_sees_the_listing_not_the_inside(app, client, club):
    for _ in range(3):
        page = client.get(f"/clubs/{club.slug}").get_data(as_text=True)
    assert "Cached Club" in page and "We read slowly." not in page and "Log in to ask to join" in page
