"""Browsing and searching the catalogue."""

from types import SimpleNamespace

import pytest

from app.catalogue.services import remove_book, set_price
from tests.factories import isbn_for, make_book, make_books, many_books

HTMX = {"HX-Request": "true", "HX-Request-Type": "partial"}


def snapshot(books):
    """Plain copies of books, so tests never hold ORM objects across requests."""
    return [SimpleNamespace(id=b.id, slug=b.slug, isbn13=b.isbn13, title=b.title) for b in books]


@pytest.fixture
def shelf(app):
    with app.app_context():
        return snapshot(
            make_books(
                [
                    {
                        "title": "Pride and Prejudice",
                        "authors": "Jane Austen",
                        "price": "9.50",
                        "genres": "Classics;Romance",
                        "description": "Elizabeth Bennet and Mr Darcy.",
                        "stock": 3,
                    },
                    {
                        "title": "Emma",
                        "authors": "Jane Austen",
                        "price": "7.25",
                        "genres": "Classics",
                        "stock": 0,
                        "description": "A matchmaker in Highbury.",
                    },
                    {
                        "title": "Crime and Punishment",
                        "authors": "Fyodor Dostoevsky",
                        "price": "15.00",
                        "genres": "Classics",
                        "description": "Raskolnikov in Saint Petersburg; pride before a fall.",
                        "stock": 2,
                    },
                    {
                        "title": "The Hobbit",
                        "authors": "J. R. R. Tolkien",
                        "price": "12.00",
                        "genres": "Fantasy",
                        "description": "There and back again.",
                        "stock": 7,
                    },
                ]
            )
        )


def titles(response) -> list[str]:
    import re

    return re.findall(r'<strong class="book-title">([^<]+)</strong>', response.get_data(as_text=True))


def test_books_page_lists_every_book_by_title(client, shelf):
    response = client.get("/books")
    assert response.status_code == 200
    assert titles(response) == ["Crime and Punishment", "Emma", "Pride and Prejudice", "The Hobbit"]
    assert b"4 books" in response.data
    assert b"$9.50" in response.data


def test_search_matches_title_author_and_description_ranked(client, shelf):
    assert set(titles(client.get("/books?q=austen"))) == {"Emma", "Pride and Prejudice"}
    # A title match outranks a description match.
    assert titles(client.get("/books?q=pride"))[0] == "Pride and Prejudice"
    assert "Crime and Punishment" in titles(client.get("/books?q=pride"))
    assert titles(client.get("/books?q=raskol")) == ["Crime and Punishment"]  # prefix, as you type
    assert titles(client.get("/books?q=hobbit tolk")) == ["The Hobbit"]
    empty = client.get("/books?q=zzzzqqq")
    assert titles(empty) == [] and b"No books match" in empty.data


def test_exact_isbn_comes_first_and_isbn10_works(client, shelf):
    hobbit = shelf[3]
    assert titles(client.get(f"/books?q={hobbit.isbn13}"))[0] == "The Hobbit"
    hyphenated = f"{hobbit.isbn13[:3]}-{hobbit.isbn13[3:]}"
    assert titles(client.get(f"/books?q={hyphenated}")) == ["The Hobbit"]


def test_isbn10_search(app, client):
    with app.app_context():
        make_book(title="Calculus", isbn="0-306-40615-2")
    assert titles(client.get("/books?q=0306406152")) == ["Calculus"]


def test_filters_and_sorting(client, shelf):
    assert titles(client.get("/books?genre=fantasy")) == ["The Hobbit"]
    assert titles(client.get("/books?in_stock=y&genre=classics")) == ["Crime and Punishment", "Pride and Prejudice"]
    assert titles(client.get("/books?min_price=9&max_price=13&sort=price")) == ["Pride and Prejudice", "The Hobbit"]
    assert titles(client.get("/books?sort=price_desc"))[0] == "Crime and Punishment"


def test_bad_filters_are_explained_and_ignored(client, shelf):
    response = client.get("/books?min_price=abc&max_price=10&sort=title")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Min price ($)" in page and "Not a valid decimal value." in page
    assert "We showed results without that filter." in page
    assert titles(response) == ["Emma", "Pride and Prejudice"]  # the valid max price still applies


def test_htmx_search_returns_only_the_results_fragment(client, shelf):
    response = client.get("/books?q=hobbit", headers=HTMX)
    assert response.status_code == 200
    assert b"<html" not in response.data and b'id="catalogue-form"' not in response.data
    assert titles(response) == ["The Hobbit"]
    assert "HX-Request" in response.headers["Vary"]
    full = client.get("/books?q=hobbit", headers={**HTMX, "HX-History-Restore-Request": "true"})
    assert b"<html" in full.data


def test_pagination(app, client):
    with app.app_context():
        many_books(30)
    first = client.get("/books?per_page=12")
    assert titles(first)[0] == "Volume 0000" and len(titles(first)) == 12
    assert b"page 1 of 3" in first.data and b'rel="next"' in first.data
    last = client.get("/books?per_page=12&page=3")
    assert titles(last) == [f"Volume {i:04d}" for i in range(24, 30)]
    beyond = client.get("/books?per_page=12&page=99")
    assert titles(beyond) == titles(last)


@pytest.mark.parametrize("query", ["", "?q=volume", "?sort=price&in_stock=y"])
def test_listing_runs_the_same_number_of_queries_for_12_or_48_books(app, client, count_queries, query):
    with app.app_context():
        many_books(60)
    counts = []
    for size in (12, 48):
        with app.app_context():
            from app.extensions import cache

            cache.clear()
        sep = "&" if query else "?"
        with count_queries() as q:
            assert client.get(f"/books{query}{sep}per_page={size}").status_code == 200
        counts.append(q.count)
    assert counts[0] == counts[1] <= 5, counts


def test_book_page_shows_details_in_a_fixed_number_of_queries(app, client, count_queries, shelf):
    book = shelf[0]
    with app.app_context():
        from app.extensions import cache

        cache.clear()
    with count_queries() as q:
        response = client.get(f"/books/{book.id}/{book.slug}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Pride and Prejudice" in page and "Jane Austen" in page and book.isbn13 in page
    assert "Classics" in page and "Add to cart" in page
    assert q.count <= 5, q.statements


def test_book_urls_redirect_to_the_canonical_slug(client, shelf):
    book = shelf[0]
    assert client.get(f"/books/{book.id}").status_code == 301
    assert client.get(f"/books/{book.id}/wrong-slug").headers["Location"].endswith(f"/books/{book.id}/{book.slug}")


def test_out_of_stock_books_cannot_be_added(client, shelf):
    emma = shelf[1]
    page = client.get(f"/books/{emma.id}/{emma.slug}")
    assert b"Out of stock" in page.data and b"Add to cart" not in page.data


def test_removed_books_disappear(app, client, shelf):
    with app.app_context():
        remove_book(shelf[3].isbn13)
    assert "The Hobbit" not in titles(client.get("/books"))
    assert client.get(f"/books/{shelf[3].id}/{shelf[3].slug}").status_code == 404


def test_cached_pages_change_when_a_price_changes(app, client, shelf):
    book = shelf[3]
    assert b"$12.00" in client.get("/books?q=hobbit").data
    assert b"$12.00" in client.get(f"/books/{book.id}/{book.slug}").data
    with app.app_context():
        set_price(book.isbn13, "13.49")
    assert b"$13.49" in client.get("/books?q=hobbit").data
    assert b"$13.49" in client.get(f"/books/{book.id}/{book.slug}").data


def test_a_new_book_appears_in_cached_listings(app, client, shelf):
    assert "Dracula" not in titles(client.get("/books"))
    with app.app_context():
        make_book(title="Dracula", isbn=isbn_for(999))
    assert "Dracula" in titles(client.get("/books"))


def test_a_book_page_says_how_many_are_left_and_names_its_language(app, client, shelf):
    with app.app_context():
        plenty = snapshot([make_book(title="Plenty", stock=40, isbn=isbn_for(424242))])[0]
    few = client.get(f"/books/{shelf[0].id}/{shelf[0].slug}").get_data(as_text=True)
    assert "Only 3 left" in few and "In stock" not in few
    assert "<dd>English</dd>" in few and "<dd>en</dd>" not in few
    many = client.get(f"/books/{plenty.id}/{plenty.slug}").get_data(as_text=True)
    assert "In stock" in many and "Only" not in many
    emma = client.get(f"/books/{shelf[1].id}/{shelf[1].slug}").get_data(as_text=True)
    assert "Out of stock" in emma
