"""The book page for a signed-in reader: few queries, and price and stock always fresh, however
they are changed."""

from __future__ import annotations

from sqlalchemy import update

from app.catalogue.services import set_price
from app.extensions import db
from app.models import Book
from tests.factories import isbn_for, make_books
from tests.helpers import login_as, make_user


def book_with_authors(count: int, number: int) -> Book:
    authors = "; ".join(f"Author {number}-{i}" for i in range(count))
    return make_books([{"title": f"Book {number}", "authors": authors, "isbn": isbn_for(700000 + number), "stock": 9}])[
        0
    ]


def test_the_book_page_signed_in_runs_the_same_few_queries_for_2_or_20_authors(app, client, count_queries):
    with app.app_context():
        make_user()
        books = [book_with_authors(2, 1), book_with_authors(20, 2)]
        paths = [f"/books/{b.id}/{b.slug}" for b in books]
    login_as(client)
    client.get("/cart")  # the reader's snapshot is cached once after log in
    cold, warm = [], []
    for path in paths:
        with count_queries() as q:
            assert client.get(path).status_code == 200
        cold.append(q.count)
        with count_queries() as q:
            html = client.get(path).get_data(as_text=True)
        warm.append(q.count)
    assert "Author 2-19" in html and "Add to cart" in html
    # Seen once, the page comes whole from the cache with the reader's header: no query at all.
    assert cold[0] == cold[1] <= 5 and warm[0] == warm[1] == 0, (cold, warm)


def test_price_and_stock_changes_show_at_once_to_a_signed_in_reader(app, client):
    with app.app_context():
        make_user()
        book = book_with_authors(1, 3)
        path = f"/books/{book.id}/{book.slug}"
    login_as(client)
    html = client.get(path).get_data(as_text=True)
    assert "In stock" in html
    with app.app_context():
        set_price(book.isbn13, "21.50")
    assert "$21.50" in client.get(path).get_data(as_text=True)
    with app.app_context():  # an order takes stock with a conditional UPDATE, not through the catalogue
        db.session.execute(update(Book).where(Book.id == book.id).values(stock=2))
        db.session.commit()
    html = client.get(path).get_data(as_text=True)
    assert "Only 2 left" in html and 'max="2"' in html
    with app.app_context():
        db.session.execute(update(Book).where(Book.id == book.id).values(stock=0))
        db.session.commit()
    html = client.get(path).get_data(as_text=True)
    assert "Out of stock" in html and "Add to cart" not in html


def test_any_committed_change_to_books_shows_at_once_on_cached_book_pages(app, client):
    """A change made outside the catalogue's services (an ORM edit, a bulk UPDATE of every book)
    still reaches the cached pages: the session hooks bump the versions on commit."""
    with app.app_context():
        books = [book_with_authors(1, 4), book_with_authors(1, 5)]
        first, second = (f"/books/{b.id}/{b.slug}" for b in books)
        first_id = books[0].id
    for path in (first, second, first, second):
        client.get(path)  # both cached
    with app.app_context():
        db.session.get(Book, first_id).title = "Renamed by hand"
        db.session.commit()
    assert "Renamed by hand" in client.get(first).get_data(as_text=True)
    with app.app_context():
        db.session.execute(update(Book).values(stock=0))  # names no book: every page moves on
        db.session.commit()
    for path in (first, second):
        assert "Out of stock" in client.get(path).get_data(as_text=True)
    with app.app_context():
        db.session.execute(update(Book).values(stock=5))
        db.session.rollback()  # nothing committed: nothing to invalidate, nothing shown
    assert "Out of stock" in client.get(second).get_data(as_text=True)
