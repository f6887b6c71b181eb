"""The search index after a bulk write: imported books are found by every kind of search, and
books written any other way are still indexed as they are inserted."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import insert, text
from sqlalchemy.exc import SQLAlchemyError

from app.catalogue.importer import import_books
from app.catalogue.queries import CatalogueParams, list_books
from app.catalogue.services import book_data_from_row, upsert_books
from app.extensions import db
from app.models import Book
from app.models.base import utcnow
from tests.catalogue.test_import import HEADER, write
from tests.catalogue.test_import import book as imported
from tests.factories import isbn_for


def found(query: str) -> list[str]:
    return [b.title for b in list_books(CatalogueParams(q=query, exact=True)).books]


def test_imported_books_are_found_by_title_author_isbn_and_description(app_ctx, tmp_path: Path):
    isbn = isbn_for(4242)
    path = write(
        tmp_path,
        "books.csv",
        HEADER + f"{isbn},Quillfeather Almanac,Ottoline Brackwater,About zephyrine marshes.,,,,en,,9.99,1\n",
    )

    summary = import_books(path)

    assert (summary.inserted, summary.rejected) == (1, 0)
    assert found("quillfeather") == ["Quillfeather Almanac"]
    assert found("brackwater") == ["Quillfeather Almanac"]
    assert found("zephyrine") == ["Quillfeather Almanac"]
    assert found(isbn) == ["Quillfeather Almanac"]


def test_a_book_inserted_outside_the_import_is_indexed_too(app_ctx):
    # bench/search_scale.py and any future code may insert books directly: the triggers still index them.
    upsert_books([book_data_from_row({"isbn": isbn_for(1), "title": "First", "authors": "A", "price": "1"})])
    now = utcnow()
    db.session.execute(
        insert(Book.__table__),
        [
            {
                "isbn13": isbn_for(2),
                "title": "Marmalade Lighthouse",
                "slug": "marmalade-lighthouse",
                "description": "",
                "language": "en",
                "price_cents": 100,
                "stock": 1,
                "authors_text": "Pim Rosewater",
                "created_at": now,
                "updated_at": now,
            }
        ],
    )
    db.session.commit()

    assert found("marmalade") == ["Marmalade Lighthouse"]
    assert found("rosewater") == ["Marmalade Lighthouse"]


def test_a_refused_batch_leaves_the_search_index_working(app_ctx, tmp_path: Path):
    """On SQLite the FTS insert triggers stand aside during a batch (books_fts_deferred): a refused
    batch must not leave them aside. On PostgreSQL the index is a generated column: same outcome."""
    first = book_data_from_row({"isbn": isbn_for(1), "title": "Good", "authors": "A", "price": "1"})
    bad = book_data_from_row({"isbn": isbn_for(2), "title": "Bad", "authors": "B", "price": "1"})
    bad.language = None  # NOT NULL: the database refuses the batch
    with pytest.raises(SQLAlchemyError):  # what the importer catches to retry row by row
        upsert_books([first, bad])

    if db.engine.dialect.name == "sqlite":
        assert db.session.scalar(text("SELECT count(*) FROM books_fts_deferred")) == 0
    upsert_books([first])
    assert found("good") == ["Good"]


def test_two_spellings_of_one_genre_give_the_book_that_genre_once(app_ctx, tmp_path: Path):
    path = write(tmp_path, "genres.csv", HEADER + f"{isbn_for(7)},Starfall,Ada Rossi,,,,,en,Sci-Fi; sci fi,5.00,1\n")

    summary = import_books(path)

    assert (summary.inserted, summary.rejected) == (1, 0)
    book = imported(isbn_for(7))
    assert [g.name for g in book.genres] == ["Sci-Fi"]


def test_reimporting_a_file_with_new_authors_and_genres_replaces_them(app_ctx, tmp_path: Path):
    first = write(tmp_path, "a.csv", HEADER + f"{isbn_for(8)},Tidewater,Ada Rossi; Una Byrne,,,,,en,Poetry,5.00,1\n")
    import_books(first)
    again = write(tmp_path, "b.csv", HEADER + f"{isbn_for(8)},Tidewater,Una Byrne; Ada Rossi,,,,,en,Art,5.00,1\n")

    import_books(again)

    db.session.expire_all()
    book = imported(isbn_for(8))
    assert [a.name for a in book.authors] == ["Una Byrne", "Ada Rossi"]
    assert [g.name for g in book.genres] == ["Art"]
    assert found("rossi") == ["Tidewater"]
