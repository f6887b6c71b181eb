"""A misspelt search still finds the book, and says what it searched for instead."""

import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.api import API
from tests.catalogue.test_import import HEADER, run, write
from tests.catalogue.test_listing import snapshot, titles
from tests.factories import isbn_for, make_books, many_books

HOLMES_ISBN = isbn_for(500001)


@pytest.fixture
def shelf(app):
    with app.app_context():
        return snapshot(
            make_books(
                [
                    {"title": "The Adventures of Sherlock Holmes", "authors": "Conan Doyle", "isbn": HOLMES_ISBN},
                    {
                        "title": "A Study in Scarlet",
                        "authors": "Arthur Conan Doyle",
                        "description": "Dr Watson meets Sherlock Holmes.",
                    },
                    {"title": "Pride and Prejudice", "authors": "Jane Austen", "description": "Mr Darcy."},
                    {"title": "Persuasion", "authors": "Jane Austen"},
                    {"title": "Persuasive Writing", "authors": "Pat Quill"},
                    {"title": "Dracula", "authors": "Bram Stoker"},
                    {"title": "The Hobbit", "authors": "J. R. R. Tolkien"},
                ]
            )
        )


def correction(response) -> str:
    """The "Showing results for" or "Did you mean" line, as the reader sees it ('' if none)."""
    found = re.search(r'<p class="search-correction">(.*?)</p>', response.get_data(as_text=True), re.S)
    return " ".join(re.sub(r"<[^>]+>", "", found.group(1)).split()) if found else ""


def correction_links(response) -> list[str]:
    found = re.search(r'<p class="search-correction">(.*?)</p>', response.get_data(as_text=True), re.S)
    return [html.unescape(href) for href in re.findall(r'href="([^"]+)"', found.group(1))] if found else []


def test_a_misspelt_title_word_finds_the_book(client, shelf):
    response = client.get("/books?q=sherlok")
    assert titles(response)[0] == "The Adventures of Sherlock Holmes"
    assert "A Study in Scarlet" in titles(response)  # Sherlock is in its description
    assert correction(response) == "Showing results for sherlock. Search instead for sherlok."
    assert "2 books for “sherlock”" in response.get_data(as_text=True)


def test_a_misspelt_author_with_a_title_word_finds_the_book(client, shelf):
    response = client.get("/books?q=austin+pride")
    assert titles(response) == ["Pride and Prejudice"]
    assert correction(response) == "Showing results for austen pride. Search instead for austin pride."


def test_search_instead_for_what_was_typed_finds_nothing_and_corrects_nothing(client, shelf):
    corrected, instead = correction_links(client.get("/books?q=sherlok&genre="))
    assert parse_qs(urlsplit(corrected).query) == {"q": ["sherlock"]}
    assert parse_qs(urlsplit(instead).query) == {"q": ["sherlok"], "exact": ["y"]}
    as_typed = client.get(instead)
    assert titles(as_typed) == [] and "No books match “sherlok”" in as_typed.get_data(as_text=True)
    assert correction(as_typed) == ""
    assert titles(client.get(corrected))[0] == "The Adventures of Sherlock Holmes"


def test_did_you_mean_when_the_words_as_typed_find_a_little(app, client, shelf):
    # "Austin" is a word of this book's description, so the search as typed finds it.
    with app.app_context():
        make_books([{"title": "Lone Star Rodeo", "isbn": isbn_for(500002), "description": "Pride of Austin, Texas."}])
    response = client.get("/books?q=austin+pride&in_stock=y")
    assert titles(response) == ["Lone Star Rodeo"]
    assert correction(response) == "Did you mean austen pride?"
    (link,) = correction_links(response)
    assert parse_qs(urlsplit(link).query) == {"q": ["austen pride"], "in_stock": ["y"]}  # filters kept
    assert titles(client.get(link)) == ["Pride and Prejudice"]


def test_an_exact_title_and_an_isbn_still_come_first(client, shelf):
    exact = client.get("/books?q=persuasion")
    assert titles(exact) == ["Persuasion"] and correction(exact) == ""
    assert titles(client.get("/books?q=persuas"))[0] == "Persuasion"  # typing, not a misspelling
    by_isbn = client.get(f"/books?q={HOLMES_ISBN}")
    assert titles(by_isbn)[0] == "The Adventures of Sherlock Holmes" and correction(by_isbn) == ""


@pytest.mark.parametrize("nonsense", ["zzzzqqq", "xqvbnmw", "blorf", "qq"])
def test_nonsense_still_finds_nothing_and_suggests_nothing(client, shelf, nonsense):
    response = client.get(f"/books?q={nonsense}")
    assert titles(response) == []
    assert f"No books match “{nonsense}”" in response.get_data(as_text=True)
    assert correction(response) == ""


def test_the_vocabulary_follows_books_added_and_renamed_by_the_cli_and_the_import(app, client, tmp_path, shelf):
    assert titles(client.get("/books?q=moonstome")) == []
    result = run(
        app,
        *("books", "add", "--isbn", isbn_for(500003), "--title", "The Moonstone", "--author", "Wilkie Collins"),
        *("--price", "9.00", "--stock", "2"),
    )
    assert result.exit_code == 0, result.output
    assert titles(client.get("/books?q=moonstome")) == ["The Moonstone"]
    assert titles(client.get("/books?q=colins")) == ["The Moonstone"]

    row = f"{HOLMES_ISBN},The Hound of the Baskervilles,Arthur Conan Doyle,,,,,en,,8.00,3\n"
    renamed = write(tmp_path, "rename.csv", HEADER + row)
    result = run(app, "books", "import", str(renamed))
    assert result.exit_code == 0, result.output
    assert titles(client.get("/books?q=baskervile")) == ["The Hound of the Baskervilles"]
    # Its old title's words find only the book that still has them, and nothing silly.
    assert titles(client.get("/books?q=sherlok")) == ["A Study in Scarlet"]
    assert correction(client.get("/books?q=advenures")) == ""


def test_the_api_search_is_corrected_and_says_so(client, shelf):
    body = client.get(f"{API}/books?q=sherlok").get_json()
    assert body["items"][0]["title"] == "The Adventures of Sherlock Holmes"
    assert (body["showing_for"], body["suggestion"]) == ("sherlock", None)
    as_typed = client.get(f"{API}/books?q=sherlok&exact=true").get_json()
    assert (as_typed["items"], as_typed["showing_for"]) == ([], None)
    exact = client.get(f"{API}/books?q=dracula").get_json()
    assert [i["title"] for i in exact["items"]] == ["Dracula"]
    assert (exact["showing_for"], exact["suggestion"]) == (None, None)


def test_a_misspelt_search_runs_the_same_few_queries_for_12_or_48_books(app, client, count_queries):
    with app.app_context():
        many_books(60)
    counts = []
    for size in (12, 48):
        with app.app_context():
            from app.extensions import cache

            cache.clear()
        with count_queries() as q:
            response = client.get(f"/books?q=volumne&per_page={size}")
        assert response.status_code == 200 and len(titles(response)) == size
        assert correction(response) == "Showing results for volume. Search instead for volumne."
        counts.append(q.count)
    # count, closest words, corrected count, rows, authors (and the genres for the form)
    assert counts[0] == counts[1] <= 6, counts
