"""The catalogue in the shell: search, filters, pages with Link headers, one book, ETags."""

import pytest

from app.catalogue.services import remove_book
from app.extensions import db
from tests.api import API, assert_shape, problem_of
from tests.factories import make_book, make_books, many_books


@pytest.fixture
def shelf(app):
    with app.app_context():
        books = make_books(
            [
                {
                    "title": "The Left Hand of Darkness",
                    "authors": "Ursula K. Le Guin",
                    "price": "14.50",
                    "genres": "Science Fiction; Classics",
                    "publisher": "Ace",
                    "year": 1969,
                    "description": "A winter planet.",
                },
                {"title": "Kindred", "authors": "Octavia E. Butler", "price": "9.99", "genres": "Science Fiction"},
                {"title": "Middlemarch", "authors": "George Eliot", "price": "22.00", "stock": 0, "genres": "Classics"},
            ]
        )
        return {book.title: book.id for book in books}


def titles(response) -> list[str]:
    return [item["title"] for item in response.get_json()["items"]]


def test_the_list_shows_books_with_their_authors_prices_and_site_links(client, shelf):
    response = client.get(f"{API}/books")
    assert response.status_code == 200
    body = response.get_json()
    assert_shape(body, "BookPage")
    assert titles(response) == ["Kindred", "Middlemarch", "The Left Hand of Darkness"]
    assert (body["total"], body["page"], body["pages"]) == (3, 1, 1)
    kindred = body["items"][0]
    assert kindred["authors"] == ["Octavia E. Butler"]
    assert (kindred["price_cents"], kindred["currency"], kindred["in_stock"]) == (999, "usd", True)
    assert kindred["url"] == f"http://localhost/books/{shelf['Kindred']}/kindred"
    assert response.headers["X-Total-Count"] == "3"


def test_search_filters_and_sorting_work_as_on_the_site(client, shelf):
    assert titles(client.get(f"{API}/books?q=darkness")) == ["The Left Hand of Darkness"]
    assert titles(client.get(f"{API}/books?genre=classics&sort=price_desc")) == [
        "Middlemarch",
        "The Left Hand of Darkness",
    ]
    assert titles(client.get(f"{API}/books?min_price=10&max_price=20.5")) == ["The Left Hand of Darkness"]
    assert titles(client.get(f"{API}/books?in_stock=true&sort=price")) == ["Kindred", "The Left Hand of Darkness"]
    assert titles(client.get(f"{API}/books?in_stock=false&sort=newest")) == [
        "Middlemarch",
        "Kindred",
        "The Left Hand of Darkness",
    ]
    # A search with no words in it finds nothing (and breaks nothing).
    assert titles(client.get(f"{API}/books?q=%21%3F")) == []
    # No price can be both above 20 and below 10: nothing matches (it is not an error).
    assert titles(client.get(f"{API}/books?min_price=20&max_price=10")) == []


def test_invalid_parameters_are_refused_with_every_bad_field_named(client, shelf):
    response = client.get(f"{API}/books?min_price=cheap&max_price=-1&in_stock=yes&sort=best&page=0&per_page=500")
    body = problem_of(response, 422)
    assert set(body["errors"]) == {"min_price", "max_price", "in_stock", "sort", "page", "per_page"}
    assert_shape(body, "Problem")
    for bad in ("min_price=NaN", "max_price=Infinity", "min_price=100001", "min_price=", "sort="):
        assert client.get(f"{API}/books?{bad}").status_code == 422, bad


def test_page_two_has_links_to_its_neighbours_keeping_the_filters(client, app):
    with app.app_context():
        many_books(25)
    response = client.get(f"{API}/books?q=volume&sort=title&page=2&per_page=10")
    body = response.get_json()
    assert [item["title"] for item in body["items"]][:2] == ["Volume 0010", "Volume 0011"]
    assert (body["page"], body["pages"], body["total"]) == (2, 3, 25)
    links = dict(reversed(part.split("; ")) for part in response.headers["Link"].split(", "))
    assert set(links) == {'rel="first"', 'rel="prev"', 'rel="next"', 'rel="last"'}
    assert "page=3" in links['rel="next"'] and "q=volume" in links['rel="next"'] and "sort=title" in links['rel="next"']
    assert "page=1" in links['rel="prev"'] and "per_page=10" in links['rel="prev"']
    assert response.headers["X-Total-Count"] == "25"


def test_the_list_answers_304_until_the_catalogue_changes(client, app, shelf):
    first = client.get(f"{API}/books")
    etag = first.headers["ETag"]
    again = client.get(f"{API}/books", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    with app.app_context():
        make_book(title="A New Arrival", isbn="9780306406157")
    changed = client.get(f"{API}/books", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert "A New Arrival" in titles(changed)


def test_a_book_shows_its_description_genres_and_publisher_with_an_etag(client, shelf):
    response = client.get(f"{API}/books/{shelf['The Left Hand of Darkness']}")
    assert response.status_code == 200
    book = response.get_json()
    assert_shape(book, "BookDetail")
    assert book["description"] == "A winter planet."
    assert book["genres"] == [
        {"slug": "classics", "name": "Classics"},
        {"slug": "science-fiction", "name": "Science Fiction"},
    ]
    assert (book["publisher"], book["year"]) == ("Ace", 1969)
    cached = client.get(f"{API}/books/{book['id']}", headers={"If-None-Match": response.headers["ETag"]})
    assert cached.status_code == 304


def test_an_unknown_or_removed_book_is_a_404_problem(client, app, shelf):
    problem_of(client.get(f"{API}/books/999999"), 404)
    problem_of(client.get(f"{API}/books/0"), 404)
    problem_of(client.get(f"{API}/books/99999999999999999999"), 404)
    with app.app_context():
        remove_book(shelf["Kindred"])
    problem_of(client.get(f"{API}/books/{shelf['Kindred']}"), 404)
    assert "Kindred" not in titles(client.get(f"{API}/books"))


def test_the_list_takes_the_same_number_of_queries_for_10_or_40_books(client, app, count_queries):
    with app.app_context():
        many_books(40)
        db.session.remove()
    counts = []
    for per_page in (10, 40):
        with count_queries() as queries:
            response = client.get(f"{API}/books?per_page={per_page}")
        assert len(response.get_json()["items"]) == per_page
        counts.append(queries.count)
    assert counts[0] == counts[1], counts
