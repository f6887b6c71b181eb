"""My clubs (/clubs/mine): the clubs a reader is in, their role, and what to do next in each."""

import re
from datetime import date

from app.extensions import db
from app.models import BookOffer, MemberStatus, Role
from tests.clubs import add_member, start_club, user_id
from tests.helpers import login_as, make_user


def text(response) -> str:
    assert response.status_code == 200, response.status_code
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


def test_my_clubs_lists_each_club_with_role_members_and_next_step(app, client):
    with app.app_context():
        make_user(email="rosa@example.com", name="Rosa Reader")
        owned = start_club(owner_email="rosa@example.com", name="Rosa's Circle")
        add_member(owned.id, "p1@example.com", "Pat One", status=MemberStatus.PENDING)
        add_member(owned.id, "p2@example.com", "Pat Two", status=MemberStatus.PENDING)
        moderated = start_club(name="Night Owls", city="Lyon")
        add_member(moderated.id, "rosa@example.com", "Rosa Reader", role=Role.MODERATOR)
        db.session.add(
            BookOffer(club_id=moderated.id, user_id=user_id("owner@example.com"), title="X", condition="good")
        )
        member_of = start_club(owner_email="o2@example.com", name="Goal Getters", donation_goal_cents=20_000)
        add_member(member_of.id, "rosa@example.com", "Rosa Reader")
        asked = start_club(owner_email="o3@example.com", name="Not Yet")
        add_member(asked.id, "rosa@example.com", "Rosa Reader", status=MemberStatus.PENDING)
        db.session.commit()
    login_as(client, "rosa@example.com")
    page = text(client.get("/clubs/mine"))
    assert "<h1>My clubs</h1>" in page
    names = re.findall(r'<h2><a href="/clubs/[^"]+">([^<]+)</a></h2>', page)
    assert names == ["Goal Getters", "Night Owls", "Rosa&#39;s Circle"]  # by name; not a pending request
    circle = page.split("Rosa&#39;s Circle")[1]
    assert "Owner · 1 member" in circle and "2 requests waiting" in circle
    assert f'href="/clubs/{owned.slug}/members"' in circle
    owls = page.split("Night Owls")[1].split("</li>")[0]
    assert "Moderator · 2 members" in owls and "1 book offer to decide" in owls
    goal = page.split("Goal Getters")[1].split("</li>")[0]
    assert "Member · 2 members" in goal and "$0.00 of $200.00 raised" in goal and "Help reach the goal" in goal


def test_my_clubs_without_a_club_points_to_the_directory_and_starting_one(app, client):
    with app.app_context():
        make_user()
    login_as(client)
    page = text(client.get("/clubs/mine"))
    assert "You are not in a club yet." in page
    assert 'href="/clubs"' in page and 'href="/clubs/new"' in page
    assert 'href="/clubs/mine"' in text(client.get("/account"))


def test_my_clubs_needs_a_login(client):
    response = client.get("/clubs/mine")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_a_club_cannot_take_the_name_mine(app):
    with app.app_context():
        assert start_club(name="Mine").slug != "mine"


def test_a_member_sees_their_clubs_place_in_a_contest_under_way(app, client):
    from app.contests.reading import log_book
    from app.models import User
    from tests.main.test_home import club_contest

    with app.app_context():
        make_user(email="rosa@example.com", name="Rosa Reader")
        ours = start_club(name="Page Turners")
        add_member(ours.id, "rosa@example.com", "Rosa Reader")
        rivals = start_club(owner_email="o2@example.com", name="Rivals")
        contest_id = club_contest("Winter reading", [ours.id, rivals.id]).id
        rival = db.session.get(User, rivals.owner_id)
        for n in range(2):
            log_book(rival, title=f"Book {n}", author="", pages=100, finished_on=date.today())
        log_book(
            db.session.get(User, user_id("rosa@example.com")),
            title="Mine",
            author="",
            pages=100,
            finished_on=date.today(),
        )
    login_as(client, "rosa@example.com")
    card = text(client.get("/clubs/mine")).split("Page Turners")[1].split("</li>")[0]
    assert "Winter reading" in card and "place 2 of 2" in card and "Log your reading" in card
    assert f'href="/contests/{contest_id}"' in card
