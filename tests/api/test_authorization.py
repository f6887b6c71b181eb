"""Every club-scoped API operation, called with every standing, in public and private clubs.

Mirrors tests/clubs/test_authorization.py for the site: one fresh club per check, so nothing one
check does (joining, leaving) leaks into the next. Where the site sends a visitor to log in, the API
answers 401; a private club hides what it hides with 404; a visible club refuses with 403; a refusal
for a business reason (already a member, the owner leaving) is 409.
"""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select

from app.accounts.refresh_tokens import issue_tokens
from app.extensions import db
from app.models import MemberStatus, Role, User
from tests.clubs import add_member, start_club
from tests.helpers import PASSWORD, login_as, make_user

# TestingConfig's short SECRET_KEY makes PyJWT warn on every token; production keys are long.
pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")

API = "/api/v1"
STANDINGS = ["anonymous", "outsider", "pending", "banned", "member", "moderator", "owner", "admin"]
MEMBERS = {"member", "moderator", "owner", "admin"}  # who sees inside a private club
_world = itertools.count()

OPERATIONS = {
    # name: (method, path, JSON body)
    "view": ("GET", "/clubs/{slug}", None),
    "join": ("POST", "/clubs/{slug}/join", {}),
    "leave": ("DELETE", "/clubs/{slug}/membership", None),
    "donate": ("POST", "/clubs/{slug}/donations", {"amount_cents": 500, "message": "For the shelf"}),
    "offer": ("POST", "/clubs/{slug}/book-offers", {"condition": "good", "title": "Dune", "author": "F. Herbert"}),
}


def expected(operation: str, standing: str, private: bool) -> int:
    hidden = private and standing not in MEMBERS  # a private club's inside, for those who may not see it
    if operation == "view":
        return 200  # anyone sees a club's name and place
    if standing == "anonymous":
        return 401
    if operation == "join":
        if standing == "banned":
            return 403
        return 201 if standing in ("outsider", "admin") else 409
    if operation == "leave":
        if standing in ("member", "moderator"):
            return 204
        if standing in ("owner", "admin"):  # the owner must hand the club over; an admin is not in it
            return 409
        return 404 if hidden else 403
    if operation == "donate":
        if standing == "banned" or hidden:
            return 404 if hidden else 403
        return 201
    if operation == "offer":
        if standing in MEMBERS:
            return 201
        return 404 if hidden else 403
    raise AssertionError(operation)


def build_world(app, private: bool) -> dict:
    """A club with one reader in each standing, and each reader's access token."""
    n = next(_world)
    with app.app_context():
        club = start_club(
            owner_email=f"owner{n}@example.com", name=f"Club {n}", visibility="private" if private else "public"
        )
        make_user(email=f"outsider{n}@example.com", name="Outsider")
        make_user(email=f"admin{n}@example.com", name="Admin", is_admin=True)
        add_member(club.id, f"pending{n}@example.com", "Pending", status=MemberStatus.PENDING)
        add_member(club.id, f"banned{n}@example.com", "Banned", status=MemberStatus.BANNED)
        add_member(club.id, f"member{n}@example.com", "Member")
        add_member(club.id, f"moderator{n}@example.com", "Moderator", role=Role.MODERATOR)
        emails = {standing: f"{standing}{n}@example.com" for standing in STANDINGS[1:]}
        tokens = {
            standing: issue_tokens(db.session.scalar(select(User).where(User.email == email))).access_token
            for standing, email in emails.items()
        }
        return {"slug": club.slug, "emails": emails, "tokens": tokens}


@pytest.mark.parametrize("private", [False, True], ids=["public", "private"])
def test_every_club_operation_with_every_standing(app, private):
    mismatches = []
    for operation, (method, template, body) in OPERATIONS.items():
        for standing in STANDINGS:
            world = build_world(app, private)  # a fresh club: earlier calls cannot leak into this one
            headers = {} if standing == "anonymous" else {"Authorization": f"Bearer {world['tokens'][standing]}"}
            path = API + template.format(slug=world["slug"])
            response = app.test_client().open(path, method=method, json=body, headers=headers)
            want = expected(operation, standing, private)
            if response.status_code != want:
                mismatches.append(f"{standing:<9} {method:<6} {path}: got {response.status_code}, want {want}")
            elif response.status_code >= 400:
                assert response.mimetype == "application/problem+json", (standing, method, path)
    assert mismatches == []


@pytest.mark.parametrize("standing", ["anonymous", "outsider", "pending", "member"])
def test_a_private_club_shows_outsiders_only_its_name_and_place(app, standing):
    world = build_world(app, private=True)
    headers = {} if standing == "anonymous" else {"Authorization": f"Bearer {world['tokens'][standing]}"}
    club = app.test_client().get(f"{API}/clubs/{world['slug']}", headers=headers).get_json()
    assert club["name"].startswith("Club ") and club["city"] == "Paris"
    hidden = ("description", "members", "donation_goal_cents", "donated_cents")
    if standing == "member":
        assert club["inside"] is True and club["members"] == 3  # owner, moderator, member: not pending or banned
    else:
        assert club["inside"] is False and all(club[field] is None for field in hidden)


def test_the_api_reads_no_cookie_standing(app):
    """A member signed in on the site, calling without a token, is anonymous to the API."""
    world = build_world(app, private=True)
    client = app.test_client()
    assert login_as(client, email=world["emails"]["member"], password=PASSWORD).status_code == 303
    assert client.get(f"/clubs/{world['slug']}/members").status_code == 200  # the site knows them
    club = client.get(f"{API}/clubs/{world['slug']}").get_json()
    assert club["inside"] is False and club["your_role"] is None
    assert client.post(f"{API}/clubs/{world['slug']}/book-offers", json=OPERATIONS["offer"][2]).status_code == 401
