"""A search ranks titles and authors above descriptions, and counts its matches only up to a cap."""

import pytest

from app.catalogue.services import remove_book
from app.extensions import cache, db
from app.models import Book
from tests.api import API
from tests.catalogue.test_listing import titles
from tests.factories import isbn_for, make_books, many_books


@pytest.fixture
def small_cap(app, monkeypatch):
    """A count cap of 5, so a handful of books is "more than the cap"."""
    monkeypatch.setitem(app.config, "SEARCH_COUNT_CAP", 5)


def summary(response) -> str:
    import re

    found = re.search(r'<p class="results-summary">(.*?)</p>', response.get_data(as_text=True), re.S)
    return " ".join(found.group(1).split())


def test_a_title_match_ranks_above_a_description_that_repeats_the_word(app, client):
    with app.app_context():
        make_books(
            [
                {"title": "Harbour Lights", "description": "Lanterns lanterns lanterns, all about lanterns."},
                {"title": "The Lantern", "description": "A quiet novel."},
                {"title": "Sea Glass", "description": "A lantern on the pier."},
            ]
        )
    assert titles(client.get("/books?q=lantern"))[0] == "The Lantern"


def test_an_author_match_ranks_above_a_description_match(app, client):
    with app.app_context():
        make_books(
            [
                {"title": "Evening Tide", "authors": "Ann Marsh", "description": "Written in the style of Okafor."},
                {"title": "Dust Roads", "authors": "Chidi Okafor", "description": "A long journey."},
            ]
        )
    assert titles(client.get("/books?q=okafor")) == ["Dust Roads", "Evening Tide"]


def test_more_matches_than_the_cap_say_so_on_the_page(app, client, small_cap):
    with app.app_context():
        many_books(8)
    response = client.get("/books?q=volume&per_page=12")
    assert summary(response) == "5+ books for “volume”"
    assert len(titles(response)) == 5  # the page holds what the count says
    assert summary(client.get("/books?q=volume+0003")) == "1 book for “volume 0003”"


def test_a_thousand_and_more_are_written_with_a_separator(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "SEARCH_COUNT_CAP", 1000)
    with app.app_context():
        from app.catalogue.queries import BookPage, CatalogueParams

        page = BookPage(books=[], total=1000, page=1, per_page=24, params=CatalogueParams(q="love"), total_capped=True)
        from flask import render_template

        with app.test_request_context():
            html = render_template("catalogue/_results.html", page=page, sorts={})
    assert "1,000+ books for “love”" in " ".join(html.split())


def test_the_api_says_when_its_total_is_capped(app, client, small_cap):
    with app.app_context():
        many_books(8)
    capped = client.get(f"{API}/books?q=volume").get_json()
    assert (capped["total"], capped["total_capped"], capped["pages"], len(capped["items"])) == (5, True, 1, 5)
    exact = client.get(f"{API}/books?q=volume+0003").get_json()
    assert (exact["total"], exact["total_capped"]) == (1, False)
    browsing = client.get(f"{API}/books").get_json()
    assert (browsing["total"], browsing["total_capped"]) == (8, False)


def test_filters_and_sorts_combine_with_a_capped_search(app, client, small_cap):
    with app.app_context():
        make_books([{"title": f"Volume {i}", "price": f"{10 + i}.00", "stock": i % 2} for i in range(4)])
    assert titles(client.get("/books?q=volume&sort=price_desc")) == ["Volume 3", "Volume 2", "Volume 1", "Volume 0"]
    assert titles(client.get("/books?q=volume&in_stock=y&sort=price")) == ["Volume 1", "Volume 3"]


def test_a_search_runs_as_many_queries_for_one_match_as_for_many(app, client, count_queries, small_cap):
    with app.app_context():
        many_books(40)
    counts = []
    for words in ("volume", "volume 0007"):  # 40 books (over the cap), then one
        with app.app_context():
            from app.extensions import cache

            cache.clear()
        with count_queries() as q:
            assert client.get(f"/books?q={words}&exact=y").status_code == 200
        counts.append(q.count)
    # The genres for the filter, the capped count, the page and its authors.
    assert counts[0] == counts[1] <= 4, counts


def test_removed_books_are_neither_counted_nor_found(app, client, small_cap):
    with app.app_context():
        many_books(7)
        for number in (1, 2, 3):
            remove_book(isbn_for(200000 + number))
    response = client.get("/books?q=volume&per_page=12")
    assert summary(response) == "4 books for “volume”"  # 7 match, 3 removed: under the cap of 5
    assert titles(response) == ["Volume 0000", "Volume 0004", "Volume 0005", "Volume 0006"]
    assert titles(client.get("/books?q=volume+0002")) == []
    assert client.get(f"{API}/books?q=volume").get_json()["total"] == 4


def test_a_removed_book_stays_out_of_search_when_its_record_changes_and_returns_when_listed(app, client):
    with app.app_context():
        (book,) = make_books([{"title": "The Quiet Lantern", "description": "Harbour lights."}])
        book_id = book.id
        remove_book(book.isbn13)
        book = db.session.get(Book, book_id)
        book.title, book.description = "The Quiet Lantern, revised", "Harbour lights at dusk."
        db.session.commit()
    assert titles(client.get("/books?q=lantern")) == []
    assert titles(client.get("/books?q=dusk")) == []
    with app.app_context():
        book = db.session.get(Book, book_id)
        book.removed_at = None
        db.session.commit()
        cache.clear()
    assert titles(client.get("/books?q=dusk")) == ["The Quiet Lantern, revised"]
    assert titles(client.get("/books?q=quiet+lantern")) == ["The Quiet Lantern, revised"]
