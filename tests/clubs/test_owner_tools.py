"""Starting and editing a club, the owner's tools for members, and closing the club."""

import json
import re

import pytest
from sqlalchemy import select

from app.donations.fund import add_entry, lock_fund
from app.extensions import db
from app.models import Club, FundEntry, MemberStatus, Role
from tests.clubs import HTMX, add_member, standing_of, start_club
from tests.helpers import login_as, make_user

GOOD = {
    "name": "Lyon Lit",
    "description": "Novels and wine, first Monday of the month.",
    "city": "Lyon",
    "region": "Auvergne-Rhône-Alpes",
    "country": "France",
    "latitude": "45.764",
    "longitude": "4.8357",
    "visibility": "private",
    "donation_goal": "250.50",
    "join_questions": "What are you reading?\n\n  Where do you live?  \n",
}


def club_by_slug(slug: str) -> Club:
    db.session.expire_all()
    return db.session.scalar(select(Club).where(Club.slug == slug))


@pytest.fixture
def reader(app):
    with app.app_context():
        make_user(email="reader@example.com", name="Rosa Reader")


@pytest.fixture
def club(app):
    """A public club: Olive owns it, Ana and Ben are members, Mo moderates."""
    with app.app_context():
        found = start_club(name="Paris Readers", donation_goal_cents=10000)
        found.ana = add_member(found.id, "ana@example.com", "Ana Member")
        found.ben = add_member(found.id, "ben@example.com", "Ben Member")
        found.mo = add_member(found.id, "mo@example.com", "Mo Moderator", role=Role.MODERATOR)
        return found


def owner_membership_id(app, club_id: int) -> int:
    from app.models import Membership

    with app.app_context():
        return db.session.scalar(
            select(Membership.id).where(Membership.club_id == club_id, Membership.role == Role.OWNER)
        )


# ---- Starting a club --------------------------------------------------------------------------


def test_starting_a_club_needs_an_account(client):
    response = client.get("/clubs/new")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_start_a_club_and_own_it(app, client, reader):
    login_as(client, "reader@example.com")
    assert client.get("/clubs/new").status_code == 200
    response = client.post("/clubs/new", data=GOOD)
    assert response.status_code == 303 and response.headers["Location"].endswith("/clubs/lyon-lit")
    with app.app_context():
        club = club_by_slug("lyon-lit")
        assert club.name == "Lyon Lit" and club.region == "Auvergne-Rhône-Alpes"
        assert (club.latitude, club.longitude) == (45.764, 4.8357)
        assert club.is_private and club.donation_goal_cents == 25050
        assert club.join_questions == ["What are you reading?", "Where do you live?"]
        assert standing_of(club.id, "reader@example.com") == (Role.OWNER, MemberStatus.ACTIVE)
    page = client.get("/clubs/lyon-lit").get_data(as_text=True)
    assert "Lyon Lit is open" in page and "Novels and wine" in page and "$0.00 of $250.50" in page


def test_a_club_may_be_named_new(app, client, reader):
    login_as(client, "reader@example.com")
    response = client.post("/clubs/new", data={**GOOD, "name": "New", "visibility": "public"})
    assert response.status_code == 303
    slug = response.headers["Location"].rsplit("/", 1)[1]
    assert slug != "new"
    assert "<h1>New" in client.get(f"/clubs/{slug}").get_data(as_text=True)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"name": ""}, "name", "This field is required."),
        ({"city": "  "}, "city", "This field is required."),
        ({"latitude": "91"}, "latitude", "A latitude is between -90 and 90."),
        ({"longitude": "-200"}, "longitude", "A longitude is between -180 and 180."),
        ({"longitude": ""}, "longitude", "Give both a latitude and a longitude, or neither."),
        ({"latitude": "north"}, "latitude", "Not a valid float value."),
        ({"donation_goal": "-5"}, "donation_goal", "Set a goal between $0 and $1,000,000."),
        ({"visibility": "secret"}, "visibility", "Not a valid choice."),
        ({"join_questions": "\n".join(f"Question {i}?" for i in range(6))}, "join_questions", "at most 5"),
    ],
)
def test_invalid_club_details_are_shown_in_place(app, client, reader, changes, field, message):
    login_as(client, "reader@example.com")
    response = client.post("/clubs/new", data={**GOOD, **changes})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page
    if field != "visibility":
        tag = re.search(rf'<(?:input|textarea)[^>]*\bid="{field}"[^>]*>', page).group(0)
        assert 'aria-invalid="true"' in tag and f'id="{field}-error"' in page
    assert 'value="France"' in page  # what was typed stays
    with app.app_context():
        assert db.session.scalar(select(Club.id)) is None


def test_htmx_form_errors_return_only_the_form(client, reader):
    login_as(client, "reader@example.com")
    response = client.post("/clubs/new", data={**GOOD, "name": ""}, headers=HTMX)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert page.lstrip().startswith('<form id="club-form"') and "<html" not in page

    done = client.post("/clubs/new", data=GOOD, headers=HTMX)
    assert done.status_code == 200 and done.headers["HX-Redirect"] == "/clubs/lyon-lit"


# ---- Editing ----------------------------------------------------------------------------------


def test_the_owner_edits_the_club(app, client, club):
    login_as(client, "owner@example.com")
    form = client.get(f"/clubs/{club.slug}/edit").get_data(as_text=True)
    assert 'value="Paris Readers"' in form and 'value="100.00"' in form
    response = client.post(
        f"/clubs/{club.slug}/edit",
        data={**GOOD, "name": "Paris Readers United", "visibility": "public", "donation_goal": "80"},
    )
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/clubs/{club.slug}")
    with app.app_context():
        saved = club_by_slug(club.slug)  # the slug stays, so links keep working
        assert saved.name == "Paris Readers United" and saved.city == "Lyon" and saved.donation_goal_cents == 8000
        assert saved.join_questions == ["What are you reading?", "Where do you live?"]

    bad = client.post(f"/clubs/{club.slug}/edit", data={**GOOD, "country": ""})
    assert bad.status_code == 422 and 'id="country-error"' in bad.get_data(as_text=True)


def test_only_the_owner_edits(client, club):
    login_as(client, "mo@example.com")
    assert client.get(f"/clubs/{club.slug}/edit").status_code == 403
    assert client.post(f"/clubs/{club.slug}/edit", data=GOOD).status_code == 403
    client.post("/auth/logout")
    assert client.get(f"/clubs/{club.slug}/edit").status_code == 302  # log in first


def test_a_private_club_hides_its_tools_from_outsiders(app, client, reader):
    with app.app_context():
        private = start_club(name="Secret Circle", visibility="private")
    login_as(client, "reader@example.com")
    assert client.get(f"/clubs/{private.slug}/edit").status_code == 404
    assert client.get(f"/clubs/{private.slug}/members").status_code == 404


# ---- The owner's tools for members --------------------------------------------------------------


def test_members_page_lists_everyone_with_roles(client, club):
    login_as(client, "ana@example.com")
    page = client.get(f"/clubs/{club.slug}/members").get_data(as_text=True).split('id="members-panel"')[1]
    assert "4 members" in page
    assert page.index("Olive Owner") < page.index("Mo Moderator") < page.index("Ana Member") < page.index("Ben Member")
    assert "Make moderator" not in page and "Transfer ownership" not in page


def test_promote_and_demote(app, client, club):
    login_as(client, "owner@example.com")
    page = client.get(f"/clubs/{club.slug}/members").get_data(as_text=True)
    assert "Make moderator" in page and "Demote to member" in page

    promoted = client.post(f"/clubs/{club.slug}/members/{club.ana}/role", data={"role": "moderator"}, headers=HTMX)
    assert promoted.status_code == 200
    panel = promoted.get_data(as_text=True)
    assert panel.lstrip().startswith('<div id="members-panel"') and "<html" not in panel
    assert json.loads(promoted.headers["HX-Trigger"])["toast"]["message"] == "Ana Member is now a moderator."
    with app.app_context():
        assert standing_of(club.id, "ana@example.com") == (Role.MODERATOR, MemberStatus.ACTIVE)

    demoted = client.post(f"/clubs/{club.slug}/members/{club.mo}/role", data={"role": "member"})
    assert demoted.status_code == 303
    with app.app_context():
        assert standing_of(club.id, "mo@example.com") == (Role.MEMBER, MemberStatus.ACTIVE)

    refused = client.post(f"/clubs/{club.slug}/members/{club.ben}/role", data={"role": "owner"}, headers=HTMX)
    assert refused.status_code == 422 and "Choose member or moderator." in refused.get_data(as_text=True)


def test_members_cannot_use_the_owners_tools(app, client, club):
    login_as(client, "mo@example.com")
    for action in ("remove", "ban", "transfer", "unban"):
        assert client.post(f"/clubs/{club.slug}/members/{club.ben}/{action}").status_code == 403
    assert client.post(f"/clubs/{club.slug}/members/{club.ben}/role", data={"role": "moderator"}).status_code == 403
    with app.app_context():
        assert standing_of(club.id, "ben@example.com") == (Role.MEMBER, MemberStatus.ACTIVE)


def test_remove_a_member(app, client, club):
    login_as(client, "owner@example.com")
    response = client.post(f"/clubs/{club.slug}/members/{club.ben}/remove", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "Ben Member is removed." in page and "3 members" in page
    with app.app_context():
        assert standing_of(club.id, "ben@example.com") is None
    # Removed is not banned: Ben may join again.
    client.post("/auth/logout")
    login_as(client, "ben@example.com")
    assert client.post(f"/clubs/{club.slug}/join").status_code == 303


def test_the_owner_cannot_be_removed(app, client, club):
    login_as(client, "owner@example.com")
    owner_id = owner_membership_id(app, club.id)
    response = client.post(f"/clubs/{club.slug}/members/{owner_id}/remove", headers=HTMX)
    assert response.status_code == 422 and "The owner cannot be removed." in response.get_data(as_text=True)


def test_banned_readers_cannot_rejoin_until_unbanned(app, client, club):
    login_as(client, "owner@example.com")
    banned = client.post(f"/clubs/{club.slug}/members/{club.ben}/ban", headers=HTMX)
    assert banned.status_code == 200
    panel = banned.get_data(as_text=True)
    assert "Banned" in panel and "Unban" in panel
    with app.app_context():
        assert standing_of(club.id, "ben@example.com") == (Role.MEMBER, MemberStatus.BANNED)

    client.post("/auth/logout")
    login_as(client, "ben@example.com")
    page = client.get(f"/clubs/{club.slug}").get_data(as_text=True)
    assert ">Join<" not in page and "Leave" not in page and "/donate" not in page
    assert client.post(f"/clubs/{club.slug}/join").status_code == 403
    assert client.get(f"/clubs/{club.slug}/members").status_code == 403

    client.post("/auth/logout")
    login_as(client, "owner@example.com")
    assert client.post(f"/clubs/{club.slug}/members/{club.ben}/unban").status_code == 303
    client.post("/auth/logout")
    login_as(client, "ben@example.com")
    assert client.post(f"/clubs/{club.slug}/join").status_code == 303
    with app.app_context():
        assert standing_of(club.id, "ben@example.com") == (Role.MEMBER, MemberStatus.ACTIVE)


def test_transfer_ownership_makes_the_old_owner_a_moderator(app, client, club):
    login_as(client, "owner@example.com")
    page = client.get(f"/clubs/{club.slug}/members").get_data(as_text=True)
    assert re.search(rf'hx-post="[^"]*/members/{club.ana}/transfer"[^>]*hx-confirm="Make Ana Member the owner', page)

    response = client.post(f"/clubs/{club.slug}/members/{club.ana}/transfer", headers=HTMX)
    assert response.status_code == 200 and response.headers["HX-Redirect"] == f"/clubs/{club.slug}/members"
    with app.app_context():
        assert standing_of(club.id, "ana@example.com") == (Role.OWNER, MemberStatus.ACTIVE)
        assert standing_of(club.id, "owner@example.com") == (Role.MODERATOR, MemberStatus.ACTIVE)
    assert client.get(f"/clubs/{club.slug}/edit").status_code == 403
    assert "Transfer ownership" not in client.get(f"/clubs/{club.slug}/members").get_data(as_text=True)

    client.post("/auth/logout")
    login_as(client, "ana@example.com")
    assert client.get(f"/clubs/{club.slug}/edit").status_code == 200


def test_ownership_goes_only_to_active_members(app, client, club):
    with app.app_context():
        pending = add_member(club.id, "new@example.com", "Nina New", status=MemberStatus.PENDING)
    login_as(client, "owner@example.com")
    response = client.post(f"/clubs/{club.slug}/members/{pending}/transfer", follow_redirects=True)
    assert "Ownership can go only to another active member." in response.get_data(as_text=True)
    with app.app_context():
        assert standing_of(club.id, "owner@example.com") == (Role.OWNER, MemberStatus.ACTIVE)


def test_a_membership_of_another_club_is_refused(app, client, club):
    with app.app_context():
        other = start_club(owner_email="other@example.com", name="Other Club")
        stranger = add_member(other.id, "stranger@example.com", "Stan Stranger")
    login_as(client, "owner@example.com")
    response = client.post(f"/clubs/{club.slug}/members/{stranger}/ban", headers=HTMX)
    assert response.status_code == 422 and "That person is not in this club." in response.get_data(as_text=True)
    with app.app_context():
        assert standing_of(other.id, "stranger@example.com") == (Role.MEMBER, MemberStatus.ACTIVE)


# ---- Closing ----------------------------------------------------------------------------------


def test_closing_is_refused_while_the_fund_holds_money(app, client, club):
    with app.app_context():
        lock_fund(club.id)
        add_entry(club.id, FundEntry.DONATION, 500, "test", donation_id=None)
        db.session.commit()
    login_as(client, "owner@example.com")
    edit = client.get(f"/clubs/{club.slug}/edit").get_data(as_text=True)
    assert "Close the club" in edit and f'hx-post="/clubs/{club.slug}/close"' in edit

    response = client.post(f"/clubs/{club.slug}/close")
    assert response.status_code == 422
    assert "The club fund still holds $5.00" in response.get_data(as_text=True)
    partial = client.post(f"/clubs/{club.slug}/close", headers=HTMX)
    assert partial.status_code == 422
    assert partial.get_data(as_text=True).lstrip().startswith('<form id="close-form"')
    with app.app_context():
        assert club_by_slug(club.slug).closed_at is None


def test_closing_an_empty_fund_closes_the_club(app, client, club):
    login_as(client, "mo@example.com")
    assert client.post(f"/clubs/{club.slug}/close").status_code == 403
    client.post("/auth/logout")
    login_as(client, "owner@example.com")
    response = client.post(f"/clubs/{club.slug}/close")
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Paris Readers is closed" in page and "This club closed on" in page
    with app.app_context():
        assert club_by_slug(club.slug).closed_at is not None
    assert "Paris Readers" not in client.get("/clubs").get_data(as_text=True).split("<main")[1]
    client.post("/auth/logout")
    login_as(client, "ana@example.com")
    assert "/donate" not in client.get(f"/clubs/{club.slug}").get_data(as_text=True)


def test_members_page_runs_a_fixed_number_of_queries(app, client, club, count_queries):
    login_as(client, "owner@example.com")
    counts = []
    for extra in (0, 15):
        with app.app_context():
            for i in range(extra):
                add_member(club.id, f"extra{i}@example.com", f"Extra {i}")
        client.get("/cart")  # the reader's cached row is loaded once after log in, not per page
        with count_queries() as q:
            assert client.get(f"/clubs/{club.slug}/members").status_code == 200
        counts.append(q.count)
    assert counts[0] == counts[1] <= 6, counts
