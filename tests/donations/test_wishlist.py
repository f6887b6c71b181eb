"""The wishlist: the owner adds books; readers buy them for the club; the owner spends the fund."""

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Book, Order, OrderStatus, ShelfBook, WishlistItem
from tests.donations import (
    CLUB_NAME,
    OWNER,
    balance,
    count,
    donate_and_pay,
    fund_entries,
    html_of,
    open_club,
    owner_client,
    pay_on_gateway,
    reader,
    text_of,
)
from tests.factories import isbn_for, make_books

GIVER = "giver@example.com"
GIVER_NAME = "Gina Giver"
HTMX = {"HX-Request": "true"}


@pytest.fixture
def slug(app):
    return open_club(app)


@pytest.fixture
def books(app):
    """Two catalogue books: (id, isbn) each."""
    with app.app_context():
        made = make_books(
            [
                {"title": "Piranesi", "isbn": isbn_for(400001), "price": "10.00", "stock": 2},
                {"title": "Kindred", "isbn": isbn_for(400002), "price": "12.00", "stock": 2},
            ]
        )
        return [(b.id, b.isbn13) for b in made]


@pytest.fixture
def owner(app, slug):
    return owner_client(app)


def add(client, slug, isbn, **headers):
    return client.post(f"/clubs/{slug}/wishlist", data={"isbn": isbn, "note": ""}, headers=headers)


def wish_ids(app) -> dict[str, int]:
    with app.app_context():
        rows = db.session.execute(select(Book.title, WishlistItem.id).join(Book, Book.id == WishlistItem.book_id))
        return {title: item_id for title, item_id in rows}


def test_the_owner_adds_books_by_isbn(app, slug, owner, books):
    response = add(owner, slug, books[0][1])
    assert response.status_code == 303
    page = owner.get(response.headers["Location"]).get_data(as_text=True)
    assert "“Piranesi” is on the wishlist." in page and "$10.00" in page and "Wanted" in page

    hyphenated = books[1][1][:3] + "-" + books[1][1][3:]
    assert add(owner, slug, hyphenated).status_code == 303
    assert set(wish_ids(app)) == {"Piranesi", "Kindred"}


@pytest.mark.parametrize(
    ("isbn", "message"),
    [
        ("12345", "is not an ISBN"),
        ("9780000000002", "No book with that ISBN is in our catalogue."),
        ("", "Enter the book&#39;s ISBN."),
    ],
)
def test_a_bad_isbn_is_refused_in_place(app, slug, owner, books, isbn, message):
    response = add(owner, slug, isbn, **HTMX)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert html.lstrip().startswith("<form") and 'id="wishlist-add-form"' in html and message in html
    assert wish_ids(app) == {}


def test_a_book_is_on_the_wishlist_once(app, slug, owner, books):
    add(owner, slug, books[0][1])
    again = add(owner, slug, books[0][1])
    assert again.status_code == 422 and "“Piranesi” is already on the wishlist." in again.get_data(as_text=True)


def test_only_the_owner_changes_the_wishlist(app, slug, owner, books):
    add(owner, slug, books[0][1])
    item_id = wish_ids(app)["Piranesi"]
    visitor = reader(app, "visitor@example.com", "Vic Visitor")
    assert add(visitor, slug, books[1][1]).status_code == 403
    assert visitor.post(f"/clubs/{slug}/wishlist/{item_id}/remove").status_code == 403
    assert visitor.post(f"/clubs/{slug}/wishlist/buy-from-fund", data={"item_id": item_id}).status_code == 403
    page = visitor.get(f"/clubs/{slug}/wishlist").get_data(as_text=True)
    assert "Buy for the club" in page and "Remove" not in page and "Buy from the club fund" not in page


def test_a_reader_buys_a_book_for_the_club(app, slug, owner, books, inbox):
    add(owner, slug, books[0][1])
    item_id = wish_ids(app)["Piranesi"]
    giver = reader(app, GIVER, GIVER_NAME)

    response = giver.post(f"/clubs/{slug}/wishlist/{item_id}/buy")
    assert response.status_code == 303 and "/payments/simulated/" in response.headers["Location"]
    paid = pay_on_gateway(giver, response.headers["Location"]).get_data(as_text=True)
    assert "Paid" in paid and "Thank you!" in paid

    [receipt] = inbox.wait_for(GIVER)
    assert f"A gift for {CLUB_NAME}: these books go straight onto the club's shelf." in text_of(receipt)
    [gift] = inbox.wait_for(OWNER)
    assert gift["Subject"] == f"{GIVER_NAME} bought books for {CLUB_NAME}"
    assert "Piranesi" in text_of(gift) and f"/clubs/{slug}/wishlist" in text_of(gift)
    with app.app_context():
        shelf = db.session.scalars(select(ShelfBook)).one()
        assert (shelf.title, shelf.source, shelf.author) == ("Piranesi", "gift", "Test Author")
        assert db.session.get(Book, books[0][0]).stock == 1
        order = db.session.scalars(select(Order)).one()
        assert (order.status, order.club_id is not None) == (OrderStatus.PAID, True)

    public = app.test_client().get(f"/clubs/{slug}/wishlist").get_data(as_text=True)
    assert "Given" in public and GIVER_NAME not in public  # a gift names nobody publicly
    assert "Buy for the club" not in giver.get(f"/clubs/{slug}/wishlist").get_data(as_text=True)
    assert balance(app, slug) == 0  # a card gift does not touch the fund

    # The book was given: nobody can buy it again, and the owner cannot remove it.
    again = giver.post(f"/clubs/{slug}/wishlist/{item_id}/buy", follow_redirects=True)
    assert "Someone already gave this book." in again.get_data(as_text=True)
    kept = owner.post(f"/clubs/{slug}/wishlist/{item_id}/remove", follow_redirects=True)
    assert "already given" in kept.get_data(as_text=True)
    assert count(app, WishlistItem.id) == 1


def test_buying_for_the_club_needs_a_confirmed_email_and_a_log_in(app, client, slug, owner, books):
    add(owner, slug, books[0][1])
    item_id = wish_ids(app)["Piranesi"]
    unverified = reader(app, "new@example.com", "Nico New", verified=False)
    page = unverified.post(f"/clubs/{slug}/wishlist/{item_id}/buy", follow_redirects=True).get_data(as_text=True)
    assert "Please confirm your email address first" in page
    assert count(app, Order.id) == 0
    anonymous = client.get(f"/clubs/{slug}/wishlist").get_data(as_text=True)
    assert "Log in to buy it for the club" in anonymous
    assert client.post(f"/clubs/{slug}/wishlist/{item_id}/buy").status_code == 302


def test_the_owner_buys_from_the_fund_when_it_covers_the_books(app, slug, owner, books, inbox):
    add(owner, slug, books[0][1])
    add(owner, slug, books[1][1])
    ids = wish_ids(app)
    donate_and_pay(reader(app, GIVER, GIVER_NAME), slug, "15")
    page = owner.get(f"/clubs/{slug}/wishlist").get_data(as_text=True)
    assert "Balance: <strong>$15.00</strong>" in page and 'form="fund-form"' in page

    # Both books cost $22: the fund is $7 short, and nothing changes.
    refused = owner.post(f"/clubs/{slug}/wishlist/buy-from-fund", data={"item_id": [ids["Piranesi"], ids["Kindred"]]})
    assert refused.status_code == 422
    assert "The club fund is 7.00 short for this." in refused.get_data(as_text=True)
    assert balance(app, slug) == 1500 and count(app, Order.id) == 0 and count(app, ShelfBook.id) == 0

    as_htmx = owner.post(f"/clubs/{slug}/wishlist/buy-from-fund", data={"item_id": ids["Kindred"]}, headers=HTMX)
    assert as_htmx.status_code == 200  # $12 of $15: bought
    assert as_htmx.headers["HX-Redirect"].endswith(f"/clubs/{slug}/wishlist")
    bought = owner.get(as_htmx.headers["HX-Redirect"]).get_data(as_text=True)
    assert "Bought 1 book from the fund ($12.00): they are on the shelf." in bought
    assert "Balance: <strong>$3.00</strong>" in bought
    assert balance(app, slug) == 300
    assert fund_entries(app, slug)[-1][1:] == (-1200, 300)
    with app.app_context():
        assert db.session.scalars(select(ShelfBook.title)).all() == ["Kindred"]
        assert db.session.get(Book, books[1][0]).stock == 1

    # $3 left, Piranesi costs $10: refused in place, with the reason.
    short = owner.post(f"/clubs/{slug}/wishlist/buy-from-fund", data={"item_id": ids["Piranesi"]}, headers=HTMX)
    fragment = short.get_data(as_text=True)
    assert short.status_code == 422 and fragment.lstrip().startswith('<section id="fund-box"')
    assert "The club fund is 7.00 short for this." in fragment and "Balance: <strong>$3.00</strong>" in fragment
    assert len(inbox.to(OWNER)) == 1  # the donation notice only: buying from the fund sends no gift notice


def test_buying_from_the_fund_needs_wanted_books(app, slug, owner, books):
    nothing = owner.post(f"/clubs/{slug}/wishlist/buy-from-fund", data={})
    assert nothing.status_code == 422 and "Choose books that are still wanted." in nothing.get_data(as_text=True)
    stranger = owner.post(f"/clubs/{slug}/wishlist/buy-from-fund", data={"item_id": "999999"})
    assert stranger.status_code == 422 and "not on this club" in stranger.get_data(as_text=True)


def test_the_owner_removes_a_wanted_book(app, slug, owner, books):
    add(owner, slug, books[0][1])
    item_id = wish_ids(app)["Piranesi"]
    response = owner.post(f"/clubs/{slug}/wishlist/{item_id}/remove", follow_redirects=True)
    assert "Removed from the wishlist." in response.get_data(as_text=True)
    assert wish_ids(app) == {}


def test_a_private_clubs_wishlist_is_hidden_from_outsiders(app, books):
    slug = open_club(app, name="Secret Readers", visibility="private")
    outsider = reader(app, "outsider@example.com", "Oona Outsider")
    assert outsider.get(f"/clubs/{slug}/wishlist").status_code == 404
    assert outsider.post(f"/clubs/{slug}/wishlist/1/buy").status_code == 404
    assert owner_client(app).get(f"/clubs/{slug}/wishlist").status_code == 200


def test_buying_for_the_club_asks_for_confirmation_and_the_order_says_it_is_a_gift(app, slug, owner, books, inbox):
    add(owner, slug, books[0][1])
    item_id = wish_ids(app)["Piranesi"]
    giver = reader(app, GIVER, GIVER_NAME)
    wishlist = giver.get(f"/clubs/{slug}/wishlist").get_data(as_text=True)
    assert f'href="/clubs/{slug}/wishlist/{item_id}/buy"' in wishlist  # the button leads to a confirmation

    confirm = giver.get(f"/clubs/{slug}/wishlist/{item_id}/buy")
    assert confirm.status_code == 200
    page = confirm.get_data(as_text=True)
    assert f"A gift for {CLUB_NAME}" in page and "Piranesi" in page and "$10.00" in page
    assert ">Confirm and pay $10.00<" in page and f'href="/clubs/{slug}/wishlist">Cancel<' in page
    assert count(app, Order.id) == 0  # nothing ordered until confirmed

    response = giver.post(f"/clubs/{slug}/wishlist/{item_id}/buy")
    assert "/payments/simulated/" in response.headers["Location"]
    pay_on_gateway(giver, response.headers["Location"])
    with app.app_context():
        order_id = db.session.scalar(select(Order.id))
    order_page = giver.get(f"/orders/{order_id}").get_data(as_text=True)
    assert f"A gift for {CLUB_NAME}" in order_page
    [receipt] = inbox.wait_for(GIVER)
    assert f"A gift for {CLUB_NAME}" in text_of(receipt)
    assert f"A gift for <strong>{CLUB_NAME}</strong>" in html_of(receipt)
