"""Clubs in the shell: the directory, a club's page, joining and leaving, giving money and books.

The API answers as the site's permissions decide: 404 for what a private club hides, 401 signed
out, 403 otherwise, 409 when the club's state is in the way, 422 with the bad fields named.
"""

import pytest
from sqlalchemy import select

from app.clubs.services import close_club
from app.extensions import db
from app.models import BookOffer, Club, Donation, MemberStatus
from app.payments.gateway import GatewayError
from tests.api import API, api_login, assert_shape, bearer, problem_of
from tests.clubs import add_member, standing_of, start_club
from tests.factories import make_book
from tests.helpers import make_user

READER = "reader@example.com"
OWNER = "owner@example.com"


@pytest.fixture
def clubs(app):
    """Paris Readers (public, with a member), Secret Circle (private, with a question), Lyon Lit."""
    with app.app_context():
        paris = start_club(
            name="Paris Readers",
            latitude=48.8566,
            longitude=2.3522,
            description="Classics by the Seine.",
            donation_goal_cents=50_000,
        )
        add_member(paris.id, "ana@example.com", "Ana")
        secret = start_club(
            name="Secret Circle",
            latitude=48.86,
            longitude=2.34,
            visibility="private",
            description="Our hidden notes.",
            join_questions=["Why us?"],
        )
        start_club(name="Lyon Lit", city="Lyon", latitude=45.764, longitude=4.8357)
        make_user(email=READER, name="Rosa Reader")
    return {"paris": paris.slug, "secret": secret.slug, "lyon": "lyon-lit"}


@pytest.fixture
def reader(client, clubs):
    return bearer(api_login(client, READER))


# ---- The directory --------------------------------------------------------------------------


def test_the_directory_lists_open_clubs_and_private_ones_only_by_name_and_place(client, clubs):
    response = client.get(f"{API}/clubs")
    assert response.status_code == 200
    body = response.get_json()
    assert_shape(body, "ClubPage")
    assert [c["name"] for c in body["items"]] == ["Lyon Lit", "Paris Readers", "Secret Circle"]
    paris, secret = body["items"][1], body["items"][2]
    assert (paris["members"], paris["description"], paris["visibility"]) == (2, "Classics by the Seine.", "public")
    assert (secret["name"], secret["place"], secret["city"]) == ("Secret Circle", "Paris, France", "Paris")
    assert (secret["members"], secret["description"]) == (None, None)
    assert body["near"] is None and body["near_error"] is None


def test_near_a_place_lists_the_nearest_first_with_distances(client, clubs):
    body = client.get(f"{API}/clubs?near=45.75,4.85").get_json()
    assert [c["name"] for c in body["items"]] == ["Lyon Lit", "Paris Readers", "Secret Circle"]
    assert body["items"][0]["distance_km"] < 5 and 380 < body["items"][1]["distance_km"] < 420
    assert body["near"] == {"latitude": 45.75, "longitude": 4.85}
    by_city = client.get(f"{API}/clubs?near=lyon&q=paris").get_json()
    assert [c["name"] for c in by_city["items"]] == ["Paris Readers", "Secret Circle"]


def test_an_unknown_place_lists_clubs_by_name_and_says_why(client, clubs):
    body = client.get(f"{API}/clubs?near=Atlantis").get_json()
    assert [c["name"] for c in body["items"]] == ["Lyon Lit", "Paris Readers", "Secret Circle"]
    assert "Atlantis" in body["near_error"] and body["near"] is None
    assert body["items"][0]["distance_km"] is None


def test_directory_filters_and_bad_pages(client, clubs):
    assert [c["name"] for c in client.get(f"{API}/clubs?city=lyon").get_json()["items"]] == ["Lyon Lit"]
    assert client.get(f"{API}/clubs?country=Spain").get_json()["total"] == 0
    assert set(problem_of(client.get(f"{API}/clubs?page=x&per_page=0"), 422)["errors"]) == {"page", "per_page"}
    second = client.get(f"{API}/clubs?per_page=1&page=2&city=Paris")
    assert 'rel="prev"' in second.headers["Link"] and "city=Paris" in second.headers["Link"]
    # A NUL byte cannot reach the database (PostgreSQL refuses it in text): refused, naming the field.
    assert "q" in problem_of(client.get(f"{API}/clubs?q=%00&city=%00&near=%00"), 422)["errors"]


def test_the_directory_takes_the_same_number_of_queries_for_10_or_40_clubs(client, app, count_queries):
    with app.app_context():
        for n in range(40):
            start_club(name=f"Club {n:02d}", latitude=48.0 + n / 100, longitude=2.0)
        db.session.remove()
    counts = []
    for per_page in (10, 40):
        with count_queries() as queries:
            response = client.get(f"{API}/clubs?per_page={per_page}&near=48,2")
        assert len(response.get_json()["items"]) == per_page
        counts.append(queries.count)
    assert counts[0] == counts[1], counts


# ---- A club ---------------------------------------------------------------------------------


def test_anyone_sees_inside_a_public_club(client, clubs):
    club = client.get(f"{API}/clubs/{clubs['paris']}").get_json()
    assert_shape(club, "Club")
    assert club["inside"] is True
    assert (club["members"], club["donation_goal_cents"], club["donated_cents"]) == (2, 50_000, 0)
    assert club["description"] == "Classics by the Seine."
    assert (club["your_role"], club["your_status"]) == (None, None)
    assert club["actions"] == {"join": False, "leave": False, "donate": False, "offer_book": False}
    assert club["url"] == f"http://localhost/clubs/{clubs['paris']}"


def test_a_private_club_shows_outsiders_only_its_name_place_and_questions(client, clubs, reader):
    anonymous = client.get(f"{API}/clubs/{clubs['secret']}").get_json()
    assert (anonymous["name"], anonymous["place"], anonymous["inside"]) == ("Secret Circle", "Paris, France", False)
    assert (anonymous["description"], anonymous["members"], anonymous["donated_cents"]) == (None, None, None)
    assert anonymous["join_questions"] == []
    outsider = client.get(f"{API}/clubs/{clubs['secret']}", headers=reader).get_json()
    assert outsider["inside"] is False and outsider["description"] is None
    assert outsider["join_questions"] == ["Why us?"] and outsider["actions"]["join"] is True


def test_members_see_inside_a_private_club_with_their_role(client, app, clubs):
    with app.app_context():
        add_member(db.session.scalar(select(Club.id).where(Club.slug == clubs["secret"])), "mo@example.com", "Mo")
    club = client.get(f"{API}/clubs/{clubs['secret']}", headers=bearer(api_login(client, "mo@example.com"))).get_json()
    assert club["inside"] is True and club["description"] == "Our hidden notes." and club["members"] == 2
    assert (club["your_role"], club["your_status"]) == ("member", "active")
    assert club["actions"] == {"join": False, "leave": True, "donate": True, "offer_book": True}


def test_an_unknown_club_or_a_bad_token_is_a_problem(client, clubs):
    problem_of(client.get(f"{API}/clubs/nowhere"), 404)
    problem_of(client.get(f"{API}/clubs/Not%20A%20Slug%00"), 404)
    response = client.get(f"{API}/clubs/{clubs['paris']}", headers=bearer("not-a-token"))
    problem_of(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


# ---- Joining and leaving --------------------------------------------------------------------


def test_joining_a_public_club_makes_you_a_member_once(client, app, clubs, reader):
    response = client.post(f"{API}/clubs/{clubs['paris']}/join", headers=reader)
    assert response.status_code == 201
    assert_shape(response.get_json(), "Membership")
    assert response.get_json() == {"club": clubs["paris"], "role": "member", "status": "active"}
    again = problem_of(client.post(f"{API}/clubs/{clubs['paris']}/join", headers=reader), 409)
    assert "already a member" in again["detail"]
    with app.app_context():
        assert standing_of(db.session.scalar(select(Club.id).where(Club.slug == clubs["paris"])), READER) == (
            "member",
            "active",
        )


def test_asking_to_join_a_private_club_needs_answers_and_waits(client, clubs, reader, inbox):
    url = f"{API}/clubs/{clubs['secret']}/join"
    missing = problem_of(client.post(url, json={"answers": {}}, headers=reader), 409)  # the club's questions
    assert missing["errors"] == {"answers": ["Please answer every question."]}
    problem_of(client.post(url, json={"answers": {"Why us?": 5}}, headers=reader), 422)
    problem_of(client.post(url, json={"answers": ["no"]}, headers=reader), 422)
    problem_of(client.post(url, data="answers", headers={**reader, "Content-Type": "text/plain"}), 400)
    asked = client.post(url, json={"answers": {"Why us?": "I love secrets."}}, headers=reader)
    assert asked.status_code == 201 and asked.get_json()["status"] == "pending"
    inbox.wait_for(OWNER)  # the owner hears of it, as on the site
    pending = problem_of(client.post(url, json={"answers": {"Why us?": "Again"}}, headers=reader), 409)
    assert "already asked" in pending["detail"]
    club = client.get(f"{API}/clubs/{clubs['secret']}", headers=reader).get_json()
    assert (club["your_status"], club["inside"]) == ("pending", False)


def test_joining_is_refused_when_signed_out_banned_closed_or_unknown(client, app, clubs, reader):
    problem_of(client.post(f"{API}/clubs/{clubs['paris']}/join"), 401)
    problem_of(client.post(f"{API}/clubs/nowhere/join", headers=reader), 404)
    with app.app_context():
        paris = db.session.scalar(select(Club).where(Club.slug == clubs["paris"]))
        add_member(paris.id, "bad@example.com", "Bad", status=MemberStatus.BANNED)
        lyon = db.session.scalar(select(Club).where(Club.slug == clubs["lyon"]))
        close_club(lyon)
    banned = bearer(api_login(client, "bad@example.com"))
    problem_of(client.post(f"{API}/clubs/{clubs['paris']}/join", headers=banned), 403)
    assert "closed" in problem_of(client.post(f"{API}/clubs/{clubs['lyon']}/join", headers=reader), 409)["detail"]


def test_leaving_a_club(client, clubs, reader):
    url = f"{API}/clubs/{clubs['paris']}/membership"
    problem_of(client.delete(url), 401)
    problem_of(client.delete(url, headers=reader), 403)  # not a member of this public club
    problem_of(client.delete(f"{API}/clubs/{clubs['secret']}/membership", headers=reader), 404)  # it hides
    client.post(f"{API}/clubs/{clubs['paris']}/join", headers=reader)
    left = client.delete(url, headers=reader)
    assert left.status_code == 204 and left.get_data() == b""
    owner = bearer(api_login(client, OWNER))
    assert "owner cannot leave" in problem_of(client.delete(url, headers=owner), 409)["detail"]


# ---- Giving money ---------------------------------------------------------------------------


def test_a_donation_starts_a_checkout_on_the_gateway(client, app, clubs, reader):
    response = client.post(
        f"{API}/clubs/{clubs['paris']}/donations",
        json={"amount_cents": 2500, "message": "For poetry", "anonymous": True},
        headers=reader,
    )
    assert response.status_code == 201
    body = response.get_json()
    assert_shape(body, "DonationStarted")
    assert body["status"] == "pending" and "/payments/simulated/" in body["checkout_url"]
    assert body["url"] == f"http://localhost/donations/{body['donation_id']}"
    with app.app_context():
        donation = db.session.get(Donation, body["donation_id"])
        assert (donation.amount_cents, donation.message, donation.anonymous) == (2500, "For poetry", True)


def test_a_donation_outside_the_bounds_or_badly_formed_is_refused(client, clubs, reader):
    url = f"{API}/clubs/{clubs['paris']}/donations"
    for body in ({}, {"amount_cents": 99}, {"amount_cents": 1_000_001}, {"amount_cents": "25"}, {"amount_cents": True}):
        assert set(problem_of(client.post(url, json=body, headers=reader), 422)["errors"]) == {"amount_cents"}, body
    bad = problem_of(
        client.post(url, json={"amount_cents": 500, "anonymous": "yes", "message": 1}, headers=reader), 422
    )
    assert set(bad["errors"]) == {"anonymous", "message"}
    problem_of(client.post(url, json=[2500], headers=reader), 400)


def test_donations_follow_the_clubs_rules(client, app, clubs, reader):
    problem_of(client.post(f"{API}/clubs/{clubs['paris']}/donations", json={"amount_cents": 500}), 401)
    # A private club takes money only from its members, and does not say it exists.
    problem_of(client.post(f"{API}/clubs/{clubs['secret']}/donations", json={"amount_cents": 500}, headers=reader), 404)
    with app.app_context():
        close_club(db.session.scalar(select(Club).where(Club.slug == clubs["lyon"])))
    closed = client.post(f"{API}/clubs/{clubs['lyon']}/donations", json={"amount_cents": 500}, headers=reader)
    assert "closed" in problem_of(closed, 409)["detail"]


def test_a_donation_is_kept_when_the_gateway_is_down(client, clubs, reader, monkeypatch):
    def unreachable(donation, donor):
        raise GatewayError("down")

    monkeypatch.setattr("app.api.clubs.start_donation_checkout", unreachable)
    response = client.post(f"{API}/clubs/{clubs['paris']}/donations", json={"amount_cents": 500}, headers=reader)
    assert response.status_code == 201
    assert response.get_json()["checkout_url"] is None and response.get_json()["status"] == "pending"


# ---- Offering books -------------------------------------------------------------------------


def test_members_offer_catalogue_books_or_any_book(client, app, clubs, reader, inbox):
    with app.app_context():
        book_id = make_book(title="Kindred", authors="Octavia E. Butler").id
    client.post(f"{API}/clubs/{clubs['paris']}/join", headers=reader)
    url = f"{API}/clubs/{clubs['paris']}/book-offers"
    from_catalogue = client.post(url, json={"book_id": book_id, "condition": "good"}, headers=reader)
    assert from_catalogue.status_code == 201
    offer = from_catalogue.get_json()
    assert_shape(offer, "BookOffer")
    assert (offer["title"], offer["author"], offer["status"]) == ("Kindred", "Octavia E. Butler", "pending")
    by_hand = client.post(
        url,
        json={
            "title": "Dune",
            "author": "Frank Herbert",
            "isbn": "0-306-40615-2",
            "condition": "worn",
            "note": "Sandy",
        },
        headers=reader,
    )
    assert by_hand.status_code == 201
    assert (by_hand.get_json()["isbn13"], by_hand.get_json()["note"]) == ("9780306406157", "Sandy")
    inbox.wait_for(OWNER, count=2)
    with app.app_context():
        assert db.session.query(BookOffer).count() == 2


def test_offers_are_checked_and_only_members_may_offer(client, clubs, reader):
    url = f"{API}/clubs/{clubs['paris']}/book-offers"
    problem_of(client.post(url, json={"book_id": 1, "condition": "good"}), 401)
    problem_of(client.post(url, json={"book_id": 1, "condition": "good"}, headers=reader), 403)
    client.post(f"{API}/clubs/{clubs['paris']}/join", headers=reader)
    cases = [
        ({"title": "Dune", "author": "Frank Herbert"}, {"condition"}),
        ({"title": " ", "author": "", "condition": "good"}, {"title", "author"}),
        ({"condition": "good"}, {"title", "author"}),
        ({"title": "Dune", "author": "F. H.", "isbn": "123", "condition": "mint"}, {"condition", "isbn"}),
        ({"book_id": None, "condition": "good"}, {"book_id"}),
    ]
    for body, fields in cases:
        assert set(problem_of(client.post(url, json=body, headers=reader), 422)["errors"]) == fields, body
    # A well-formed id the catalogue does not have is not there (the contract cannot know the catalogue).
    unknown = problem_of(client.post(url, json={"book_id": 999999, "condition": "good"}, headers=reader), 404)
    assert set(unknown["errors"]) == {"book_id"}
