"""A club's page, and joining, asking to join, being approved or declined, and leaving."""

import itertools
import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.donations.fund import add_entry, lock_fund
from app.extensions import db
from app.models import Donation, DonationStatus, FundEntry, MemberStatus, Role, ShelfBook, User, WishlistItem
from app.models.base import utcnow
from tests.clubs import HTMX, add_member, standing_of, start_club
from tests.factories import isbn_for, make_books
from tests.helpers import login_as, make_user

ISBNS = itertools.count()
QUESTIONS = ["What are you reading?", "Can you come on Thursdays?"]


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def give(club_id: int, email: str, name: str, cents: int, message: str = "", anonymous: bool = False, days_ago=0):
    """A paid donation, credited to the club's fund as the payment webhook would."""
    donor = db.session.scalar(select(User).where(User.email == email)) or make_user(email=email, name=name)
    donation = Donation(
        club_id=club_id,
        user_id=donor.id,
        amount_cents=cents,
        message=message,
        anonymous=anonymous,
        status=DonationStatus.PAID,
        gateway="simulated",
        paid_at=utcnow() - timedelta(days=days_ago),
    )
    db.session.add(donation)
    db.session.flush()
    lock_fund(club_id)
    add_entry(club_id, FundEntry.DONATION, cents, f"Donation #{donation.id}", donation_id=donation.id)
    db.session.commit()


def put_on_shelf(club_id: int, titles: list[str]) -> None:
    for title in titles:
        db.session.add(ShelfBook(club_id=club_id, title=title, author="Some Author", source="gift"))
    db.session.commit()


def wish_for(club_id: int, titles: list[str], given: tuple[str, ...] = ()) -> None:
    books = make_books([{"title": t, "isbn": isbn_for(300000 + next(ISBNS))} for t in titles])
    for book in books:
        db.session.add(
            WishlistItem(club_id=club_id, book_id=book.id, given_at=utcnow() if book.title in given else None)
        )
    db.session.commit()


@pytest.fixture
def public_club(app):
    with app.app_context():
        club = start_club(
            name="Paris Readers",
            description="We read the classics by the Seine.",
            region="Île-de-France",
            donation_goal_cents=50000,
        )
        add_member(club.id, "ana@example.com", "Ana Member")
        make_user(email="reader@example.com", name="Rosa Reader")
        return club


@pytest.fixture
def private_club(app):
    with app.app_context():
        club = start_club(
            name="Secret Circle",
            description="Our hidden reading notes.",
            visibility="private",
            join_questions=QUESTIONS,
        )
        add_member(club.id, "ana@example.com", "Ana Member")
        make_user(email="reader@example.com", name="Rosa Reader")
        put_on_shelf(club.id, ["The Secret History"])
        return club


# ---- The club page ----------------------------------------------------------------------------


def test_club_page_shows_about_goal_donations_shelf_and_wishlist(app, client, public_club):
    with app.app_context():
        give(public_club.id, "dora@example.com", "Dora Donor", 12000, "For new paperbacks!", days_ago=2)
        give(public_club.id, "shy@example.com", "Shy Giver", 3050, "Keep reading", anonymous=True, days_ago=1)
        put_on_shelf(public_club.id, ["Middlemarch", "Bleak House"])
        wish_for(public_club.id, ["Les Misérables", "Germinal"], given=("Germinal",))
    response = client.get(f"/clubs/{public_club.slug}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "We read the classics by the Seine." in page
    assert "Paris, Île-de-France, France" in page and "2 members" in page
    assert re.search(r'<progress[^>]*value="15050"[^>]*max="50000"', page)
    assert "$150.50 of $500.00" in page
    assert "Dora Donor" in page and "For new paperbacks!" in page
    assert "Anonymous" in page and "Keep reading" in page and "Shy Giver" not in page
    assert page.index("Anonymous") < page.index("Dora Donor")  # newest first
    assert "Middlemarch" in page and "Bleak House" in page
    wishes = re.findall(r'<li( class="given")?>\s*<span class="wish-title">([^<]+)</span>', page)
    assert ("", "Les Misérables") in wishes and (' class="given"', "Germinal") in wishes
    assert page.count(">Given</span>") == 1


def test_visitors_see_donate_and_are_asked_to_log_in_to_join(client, public_club):
    page = client.get(f"/clubs/{public_club.slug}").get_data(as_text=True)
    assert f'href="/clubs/{public_club.slug}/donate"' in page
    assert f'href="/clubs/{public_club.slug}/wishlist"' in page
    assert f'href="/clubs/{public_club.slug}/donations"' in page
    assert "Log in to join" in page
    assert "Offer a book" not in page and ">Edit<" not in page and ">Members<" not in page


def test_buttons_follow_the_readers_standing(client, public_club):
    login_as(client, "reader@example.com")
    outsider = client.get(f"/clubs/{public_club.slug}").get_data(as_text=True)
    assert ">Join<" in outsider and "Leave" not in outsider and "Offer a book" not in outsider

    client.post("/auth/logout")
    login_as(client, "ana@example.com")
    member = client.get(f"/clubs/{public_club.slug}").get_data(as_text=True)
    assert "Leave" in member and "Offer a book" in member and ">Members<" in member
    assert ">Join<" not in member and ">Edit<" not in member and ">Fund<" not in member

    client.post("/auth/logout")
    login_as(client, "owner@example.com")
    owner = client.get(f"/clubs/{public_club.slug}").get_data(as_text=True)
    assert ">Edit<" in owner and ">Members<" in owner and ">Fund<" in owner
    assert f'href="/clubs/{public_club.slug}/fund"' in owner and f'href="/clubs/{public_club.slug}/offers"' in owner
    assert "Leave" not in owner  # the owner cannot leave


def test_a_missing_club_is_404(client):
    assert client.get("/clubs/no-such-club").status_code == 404


def test_private_club_hides_its_inside_from_outsiders(client, private_club):
    visitor = client.get(f"/clubs/{private_club.slug}")
    assert visitor.status_code == 200
    page = visitor.get_data(as_text=True)
    assert "Secret Circle" in page and "Paris, France" in page and "Private" in page
    assert "hidden reading notes" not in page and "The Secret History" not in page
    assert "member" not in page.split("</header>")[0]  # no member count either
    assert "/donate" not in page
    assert "Log in to ask to join" in page

    login_as(client, "reader@example.com")
    page = client.get(f"/clubs/{private_club.slug}").get_data(as_text=True)
    assert "hidden reading notes" not in page and "The Secret History" not in page
    assert "Ask to join" in page
    assert 'name="answer-0"' in page and QUESTIONS[0] in page
    assert 'name="answer-1"' in page and QUESTIONS[1] in page
    assert client.get(f"/clubs/{private_club.slug}/members").status_code == 404


def test_private_club_shows_its_inside_to_members(client, private_club):
    login_as(client, "ana@example.com")
    page = client.get(f"/clubs/{private_club.slug}").get_data(as_text=True)
    assert "hidden reading notes" in page and "The Secret History" in page and "2 members" in page
    assert client.get(f"/clubs/{private_club.slug}/members").status_code == 200


# ---- Joining ----------------------------------------------------------------------------------


def test_joining_a_public_club_takes_effect_at_once(app, client, public_club):
    login_as(client, "reader@example.com")
    response = client.post(f"/clubs/{public_club.slug}/join")
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/clubs/{public_club.slug}")
    with app.app_context():
        assert standing_of(public_club.id, "reader@example.com") == (Role.MEMBER, MemberStatus.ACTIVE)
    page = client.get(f"/clubs/{public_club.slug}").get_data(as_text=True)
    assert "Welcome to Paris Readers!" in page and "Leave" in page and "3 members" in page


def test_joining_twice_is_refused(client, public_club):
    login_as(client, "reader@example.com")
    client.post(f"/clubs/{public_club.slug}/join")
    assert client.post(f"/clubs/{public_club.slug}/join").status_code == 403


def test_visitors_are_sent_to_log_in_before_joining(client, public_club):
    response = client.post(f"/clubs/{public_club.slug}/join")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_asking_to_join_a_private_club_needs_every_answer(app, client, private_club):
    login_as(client, "reader@example.com")
    response = client.post(f"/clubs/{private_club.slug}/join", data={"answer-0": "Dune"}, follow_redirects=True)
    assert "Please answer every question." in response.get_data(as_text=True)
    with app.app_context():
        assert standing_of(private_club.id, "reader@example.com") is None

    partial = client.post(f"/clubs/{private_club.slug}/join", data={"answer-0": "Dune"}, headers=HTMX)
    assert partial.status_code == 422
    html = partial.get_data(as_text=True)
    assert "<html" not in html and "Please answer every question." in html
    assert ">Dune</textarea>" in html  # what was typed stays


def test_request_to_join_approve_inline_and_become_a_member(app, client, private_club, inbox):
    login_as(client, "reader@example.com")
    response = client.post(
        f"/clubs/{private_club.slug}/join", data={"answer-0": "Dune, slowly", "answer-1": "Yes, every week"}
    )
    assert response.status_code == 303
    with app.app_context():
        assert standing_of(private_club.id, "reader@example.com") == (Role.MEMBER, MemberStatus.PENDING)
    page = client.get(f"/clubs/{private_club.slug}").get_data(as_text=True)
    assert "Your request is waiting" in page and "hidden reading notes" not in page

    (email,) = inbox.wait_for("owner@example.com")
    assert email["Subject"] == "Rosa Reader asks to join Secret Circle"
    body = text_of(email)
    assert QUESTIONS[0] in body and "Dune, slowly" in body and "Yes, every week" in body
    assert f"/clubs/{private_club.slug}/members" in body

    client.post("/auth/logout")
    login_as(client, "owner@example.com")
    members = client.get(f"/clubs/{private_club.slug}/members").get_data(as_text=True)
    assert "Asking to join" in members and "Dune, slowly" in members
    membership_id = int(re.search(r'id="request-(\d+)"', members).group(1))

    decided = client.post(f"/clubs/{private_club.slug}/members/{membership_id}/approve", headers=HTMX)
    assert decided.status_code == 200
    row = decided.get_data(as_text=True)
    assert row.lstrip().startswith(f'<li id="request-{membership_id}"')
    assert "Rosa Reader" in row and "is now a member" in row and "<html" not in row
    assert json.loads(decided.headers["HX-Trigger"])["toast"]["message"] == "Rosa Reader is now a member."
    with app.app_context():
        assert standing_of(private_club.id, "reader@example.com") == (Role.MEMBER, MemberStatus.ACTIVE)

    (told,) = inbox.wait_for("reader@example.com")
    assert "accepted your request" in text_of(told)

    again = client.post(f"/clubs/{private_club.slug}/members/{membership_id}/approve", headers=HTMX)
    assert again.status_code == 422 and "already decided" in again.get_data(as_text=True)

    client.post("/auth/logout")
    login_as(client, "reader@example.com")
    assert "hidden reading notes" in client.get(f"/clubs/{private_club.slug}").get_data(as_text=True)


def test_declined_request_tells_the_asker(app, client, private_club, inbox):
    login_as(client, "reader@example.com")
    client.post(f"/clubs/{private_club.slug}/join", data={"answer-0": "Dune", "answer-1": "No"})
    client.post("/auth/logout")
    login_as(client, "owner@example.com")
    members = client.get(f"/clubs/{private_club.slug}/members").get_data(as_text=True)
    membership_id = int(re.search(r'id="request-(\d+)"', members).group(1))

    response = client.post(f"/clubs/{private_club.slug}/members/{membership_id}/decline")
    assert response.status_code == 303
    assert "Rosa Reader was declined." in client.get(response.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        assert standing_of(private_club.id, "reader@example.com") is None
    (told,) = inbox.wait_for("reader@example.com")
    assert "declined your request" in text_of(told)


def test_only_moderators_decide_requests(app, client, private_club):
    with app.app_context():
        pending = add_member(
            private_club.id, "new@example.com", "Nina New", status=MemberStatus.PENDING, answers={QUESTIONS[0]: "X"}
        )
        add_member(private_club.id, "mod@example.com", "Mo Moderator", role=Role.MODERATOR)
    login_as(client, "ana@example.com")
    assert "Asking to join" not in client.get(f"/clubs/{private_club.slug}/members").get_data(as_text=True)
    assert client.post(f"/clubs/{private_club.slug}/members/{pending}/approve").status_code == 403

    client.post("/auth/logout")
    login_as(client, "mod@example.com")
    members = client.get(f"/clubs/{private_club.slug}/members").get_data(as_text=True)
    assert "Nina New" in members and "Asking to join" in members
    assert "Make moderator" not in members and "Ban" not in members  # the owner's tools
    assert client.post(f"/clubs/{private_club.slug}/members/{pending}/approve").status_code == 303
    with app.app_context():
        assert standing_of(private_club.id, "new@example.com") == (Role.MEMBER, MemberStatus.ACTIVE)


# ---- Leaving ----------------------------------------------------------------------------------


def test_members_can_leave(app, client, public_club):
    login_as(client, "ana@example.com")
    response = client.post(f"/clubs/{public_club.slug}/leave", follow_redirects=True)
    assert "You left Paris Readers." in response.get_data(as_text=True)
    with app.app_context():
        assert standing_of(public_club.id, "ana@example.com") is None
    assert client.post(f"/clubs/{public_club.slug}/leave").status_code == 403


def test_the_owner_cannot_leave(app, client, public_club):
    login_as(client, "owner@example.com")
    response = client.post(f"/clubs/{public_club.slug}/leave", follow_redirects=True)
    assert "The owner cannot leave" in response.get_data(as_text=True)
    partial = client.post(f"/clubs/{public_club.slug}/leave", headers=HTMX)
    assert partial.status_code == 422 and "The owner cannot leave" in partial.get_data(as_text=True)
    with app.app_context():
        assert standing_of(public_club.id, "owner@example.com") == (Role.OWNER, MemberStatus.ACTIVE)


# ---- Queries ----------------------------------------------------------------------------------


def test_club_page_runs_the_same_number_of_queries_for_2_or_20_of_everything(app, client, count_queries):
    with app.app_context():
        club = start_club(name="Busy Club", donation_goal_cents=100000)
    login_as(client, "owner@example.com")
    # The reader's cached snapshot (with their memberships) and the club's id are loaded once,
    # not per page.
    client.get(f"/clubs/{club.slug}")
    counts = []
    made = 0
    for size in (2, 20):
        with app.app_context():
            for i in range(made, size):
                add_member(club.id, f"m{i}@example.com", f"Member {i}")
                give(club.id, f"m{i}@example.com", f"Member {i}", 500 + i, anonymous=i % 2 == 0)
                put_on_shelf(club.id, [f"Shelf book {i}"])
            wish_for(club.id, [f"Wish {i}" for i in range(made, size)])
        made = size
        client.get("/cart")  # the reader's cached row is loaded once after log in, not per page
        with count_queries() as q:
            response = client.get(f"/clubs/{club.slug}")  # the shared part is rendered again: it changed
        assert response.status_code == 200
        counts.append(q.count)
        with count_queries() as q:
            assert client.get(f"/clubs/{club.slug}").status_code == 200
        counts.append(q.count)
    assert "Shelf book 19" in response.get_data(as_text=True)
    # Seen once, the page comes whole from the cache: no query at all.
    assert counts[0] == counts[2] <= 5 and counts[1] == counts[3] == 0, counts


def oob(html: str, element_id: str) -> str:
    """The out-of-band element with this id in an htmx response ('' if none)."""
    found = re.search(rf'<(\w+) id="{element_id}"[^>]*hx-swap-oob="true"[^>]*>(.*?)</\1>', html, re.S)
    return re.sub(r"<[^>]+>|\s+", " ", found.group(2)).strip() if found else ""


def test_deciding_a_request_updates_the_counts_on_the_members_page(app, client, private_club):
    with app.app_context():
        first = add_member(private_club.id, "nina@example.com", "Nina New", status=MemberStatus.PENDING)
        second = add_member(private_club.id, "noah@example.com", "Noah New", status=MemberStatus.PENDING)
    login_as(client, "owner@example.com")
    page = client.get(f"/clubs/{private_club.slug}/members").get_data(as_text=True)
    assert 'id="active-count"' in page and 'id="requests-count"' in page

    approved = client.post(f"/clubs/{private_club.slug}/members/{first}/approve", headers=HTMX).get_data(as_text=True)
    assert oob(approved, "active-count") == "3 members"
    assert oob(approved, "requests-count") == "1"

    declined = client.post(f"/clubs/{private_club.slug}/members/{second}/decline", headers=HTMX).get_data(as_text=True)
    assert oob(declined, "active-count") == "3 members"
    assert oob(declined, "requests-count") == "0"

    removed = client.post(f"/clubs/{private_club.slug}/members/{first}/remove", headers=HTMX).get_data(as_text=True)
    assert re.search(r'id="active-count"[^>]*>\s*2 members', removed)
