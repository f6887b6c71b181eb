"""Members offer books; the owner hears of it; a moderator accepts (onto the shelf) or declines."""

import json

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import BookOffer, ShelfBook
from tests.donations import CLUB_NAME, OWNER, count, join, open_club, owner_client, reader, text_of
from tests.factories import make_book

MEMBER = "member@example.com"
MEMBER_NAME = "Milo Member"
MODERATOR = "moderator@example.com"
HTMX = {"HX-Request": "true"}


@pytest.fixture
def slug(app):
    slug = open_club(app)
    return slug


@pytest.fixture
def member(app, slug):
    client = reader(app, MEMBER, MEMBER_NAME)
    join(app, slug, MEMBER)
    return client


@pytest.fixture
def moderator(app, slug):
    client = reader(app, MODERATOR, "Mona Moderator")
    join(app, slug, MODERATOR, role="moderator")
    return client


@pytest.fixture
def catalogue_book(app):
    with app.app_context():
        book = make_book(title="The Dispossessed", authors="Ursula K. Le Guin")
        return book.id, book.isbn13


def offer(client, slug, **fields):
    return client.post(f"/clubs/{slug}/offers", data={"condition": "good", **fields}, headers=fields.pop("headers", {}))


def offers_in(app) -> list[BookOffer]:
    with app.app_context():
        found = db.session.scalars(select(BookOffer).order_by(BookOffer.id)).all()
        db.session.expunge_all()
        return found


def test_a_member_offers_a_catalogue_book_by_isbn_and_the_owner_is_told(app, slug, member, catalogue_book, inbox):
    book_id, isbn = catalogue_book
    response = offer(member, slug, isbn=isbn, note="Read once")
    assert response.status_code == 303
    [made] = offers_in(app)
    assert (made.book_id, made.title, made.author, made.isbn13) == (
        book_id,
        "The Dispossessed",
        "Ursula K. Le Guin",
        isbn,
    )
    assert made.status == BookOffer.PENDING

    [email] = inbox.wait_for(OWNER)
    assert email["Subject"] == f"{MEMBER_NAME} offers “The Dispossessed” to {CLUB_NAME}"
    assert f"http://localhost/clubs/{slug}/offers" in text_of(email) and "Read once" in text_of(email)

    page = member.get(f"/clubs/{slug}/offers").get_data(as_text=True)
    assert "“The Dispossessed”" in page and "Pending" in page
    assert "Offers waiting for a decision" not in page  # a plain member does not moderate


def test_a_book_outside_the_catalogue_is_offered_by_title_and_author(app, slug, member):
    assert offer(member, slug, title="Zine No. 7", author="Local Poets", condition="worn").status_code == 303
    [made] = offers_in(app)
    assert (made.book_id, made.title, made.isbn13, made.condition) == (None, "Zine No. 7", None, "worn")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"title": "Zine", "author": "Poets", "isbn": "12345"}, "is not an ISBN"),
        ({"title": "Zine", "author": "Poets", "isbn": "9780261103574"}, "check digit"),
        ({"title": "Zine"}, "Give the book&#39;s title and author"),
        ({"isbn": "9780000000002"}, "Give the book&#39;s title and author"),  # valid, but not in the catalogue
        ({"title": "Zine", "author": "Poets", "condition": "mint"}, "Not a valid choice"),
    ],
)
def test_an_offer_with_bad_details_is_refused_in_place(app, slug, member, fields, message, inbox):
    response = offer(member, slug, **fields)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert offers_in(app) == [] and inbox.to(OWNER) == []


def test_the_offer_form_answers_htmx_with_its_section_and_a_toast(app, slug, member):
    bad = member.post(f"/clubs/{slug}/offers", data={"condition": "good", "title": "X"}, headers=HTMX)
    assert bad.status_code == 422 and bad.get_data(as_text=True).lstrip().startswith('<section id="offer-section"')
    good = member.post(
        f"/clubs/{slug}/offers", data={"condition": "good", "title": "Zine", "author": "Poets"}, headers=HTMX
    )
    html = good.get_data(as_text=True)
    assert good.status_code == 200 and html.lstrip().startswith('<section id="offer-section"')
    assert "“Zine”" in html and "Pending" in html
    assert "Thank you!" in json.loads(good.headers["HX-Trigger"])["toast"]["message"]


def test_a_moderator_accepts_inline_and_the_book_goes_on_the_shelf(app, slug, member, moderator, inbox):
    offer(member, slug, title="Zine No. 7", author="Local Poets")
    [made] = offers_in(app)
    page = moderator.get(f"/clubs/{slug}/offers").get_data(as_text=True)
    assert "Offers waiting for a decision" in page and MEMBER_NAME in page
    assert f'hx-post="/clubs/{slug}/offers/{made.id}/accept"' in page

    response = moderator.post(f"/clubs/{slug}/offers/{made.id}/accept", headers=HTMX)
    row = response.get_data(as_text=True)
    assert response.status_code == 200
    assert row.lstrip().startswith(f'<tr id="offer-{made.id}"') and "it is on the shelf" in row
    assert (
        json.loads(response.headers["HX-Trigger"])["toast"]["message"] == "Accepted “Zine No. 7”: it is on the shelf."
    )
    with app.app_context():
        shelf = db.session.scalars(select(ShelfBook)).one()
        assert (shelf.title, shelf.source, shelf.offer_id, shelf.condition) == ("Zine No. 7", "offer", made.id, "good")
    decision = [m for m in inbox.wait_for(MEMBER) if "accepted" in m["Subject"]]
    assert [m["Subject"] for m in decision] == [f"{CLUB_NAME} accepted your book “Zine No. 7”"]
    assert "Accepted" in member.get(f"/clubs/{slug}/offers").get_data(as_text=True)
    assert "Zine No. 7" in member.get(f"/clubs/{slug}").get_data(as_text=True)  # on the club page's shelf

    # A second decision (a double click, another moderator) is refused and changes nothing.
    again = owner_client(app).post(f"/clubs/{slug}/offers/{made.id}/decline", headers=HTMX)
    assert again.status_code == 409 and "That offer was already accepted." in again.get_data(as_text=True)
    assert offers_in(app)[0].status == BookOffer.ACCEPTED
    assert count(app, ShelfBook.id) == 1
    assert len(inbox.to(MEMBER)) == 1


def test_declining_tells_the_member_and_puts_nothing_on_the_shelf(app, slug, member, inbox):
    offer(member, slug, title="Old Phone Book", author="Telecom")
    [made] = offers_in(app)
    owner = owner_client(app)
    response = owner.post(f"/clubs/{slug}/offers/{made.id}/decline")  # without htmx: back to the page
    assert response.status_code == 303
    assert "Declined “Old Phone Book”." in owner.get(response.headers["Location"]).get_data(as_text=True)
    assert offers_in(app)[0].status == BookOffer.DECLINED
    assert count(app, ShelfBook.id) == 0
    [email] = inbox.wait_for(MEMBER)
    assert email["Subject"] == f"{CLUB_NAME} declined your book “Old Phone Book”"
    refused = owner.post(f"/clubs/{slug}/offers/{made.id}/accept", follow_redirects=True)
    assert "That offer was already declined." in refused.get_data(as_text=True)


def test_only_members_offer_and_only_moderators_decide(app, slug, member, client):
    offer(member, slug, title="Zine", author="Poets")
    [made] = offers_in(app)
    outsider = reader(app, "outsider@example.com", "Oona Outsider")
    assert outsider.get(f"/clubs/{slug}/offers").status_code == 403
    assert offer(outsider, slug, title="Spam", author="Spammer").status_code == 403
    assert member.post(f"/clubs/{slug}/offers/{made.id}/accept").status_code == 403
    assert client.get(f"/clubs/{slug}/offers").status_code == 302
    assert member.post(f"/clubs/{slug}/offers/{made.id}/maybe").status_code == 404
    assert offers_in(app)[0].status == BookOffer.PENDING


def test_an_offer_from_another_club_cannot_be_decided_here(app, slug, member):
    offer(member, slug, title="Zine", author="Poets")
    [made] = offers_in(app)
    other = open_club(app, owner_email="other-owner@example.com", owner_name="Otto Owner", name="Early Birds")
    response = owner_client(app, "other-owner@example.com").post(
        f"/clubs/{other}/offers/{made.id}/accept", headers=HTMX
    )
    assert response.status_code == 409 and "That offer is not for this club." in response.get_data(as_text=True)
    assert offers_in(app)[0].status == BookOffer.PENDING


def test_an_outsider_on_the_offers_page_is_invited_to_join(app, slug, client):
    outsider = reader(app, "outsider@example.com", "Oona Outsider")
    response = outsider.get(f"/clubs/{slug}/offers")
    assert response.status_code == 403
    page = response.get_data(as_text=True)
    assert f"Join {CLUB_NAME} to offer books" in page
    assert f'action="/clubs/{slug}/join"' in page and ">Join<" in page.replace("\n", "")
    assert 'id="offer-form"' not in page


def test_a_member_picks_the_book_from_the_catalogue_with_or_without_javascript(app, slug, member, catalogue_book):
    book_id, isbn = catalogue_book
    page = member.get(f"/clubs/{slug}/offers").get_data(as_text=True)
    assert f'hx-get="/clubs/{slug}/offers/books"' in page and 'name="q"' in page

    # Without JavaScript: the search box is a GET form; the results link to a pre-filled form.
    found = member.get(f"/clubs/{slug}/offers?q=dispossessed").get_data(as_text=True)
    assert "The Dispossessed" in found and f'href="/clubs/{slug}/offers?pick={book_id}"' in found

    # With htmx: the same list as a fragment, each result swapping in the filled form.
    fragment = member.get(f"/clubs/{slug}/offers/books?q=dispos", headers={"HX-Request": "true"})
    html = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and "<html" not in html and "The Dispossessed" in html
    assert f'hx-get="/clubs/{slug}/offers?pick={book_id}"' in html
    assert "No book in our catalogue matches" in member.get(
        f"/clubs/{slug}/offers/books?q=zzzzqqq", headers={"HX-Request": "true"}
    ).get_data(as_text=True)

    picked = member.get(f"/clubs/{slug}/offers?pick={book_id}").get_data(as_text=True)
    assert f'value="{isbn}"' in picked and 'value="The Dispossessed"' in picked
    assert 'value="Ursula K. Le Guin"' in picked

    response = offer(member, slug, isbn=isbn, title="The Dispossessed", author="Ursula K. Le Guin")
    assert response.status_code == 303
    assert offers_in(app)[0].book_id == book_id
