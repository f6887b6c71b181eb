"""The set-based import: mixed batches, search and the vocabulary after an import, cached pages, covers."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from app.catalogue.importer import import_books
from app.catalogue.queries import CatalogueParams, list_books
from app.catalogue.services import remove_book
from app.catalogue.vocabulary import closest_words
from app.extensions import db
from app.models import Book
from tests.catalogue.test_import import DRACULA, EMMA, HEADER, book, read_rejects, write
from tests.factories import isbn_for

FRANKENSTEIN = "9780486282114"


def found(query: str) -> list[str]:
    """The titles a reader searching for ``query`` is shown (as typed, no correction)."""
    return [b.title for b in list_books(CatalogueParams(q=query, exact=True)).books]


def first_import(tmp_path: Path):
    path = write(
        tmp_path,
        "first.csv",
        HEADER
        + f"{EMMA},Emma,Jane Austen,A matchmaker in Highbury.,,Penguin,2003,en,Classics,9.99,12\n"
        + f"{DRACULA},Dracula,Bram Stoker,Letters from Transylvania.,,,,en,Horror,7.99,3\n",
    )
    return import_books(path)


def test_a_batch_of_new_updated_and_rejected_rows_is_counted_and_written(app_ctx, tmp_path):
    first_import(tmp_path)
    path = write(
        tmp_path,
        "second.csv",
        HEADER
        + f"{EMMA},Emma,Jane Austen; Fay Weldon,A new introduction.,,Penguin,2003,en,Classics; Romance,11.50,4\n"
        + "9780141439580,Bad Checksum,Someone,,,,,en,,5.00,1\n"
        + f"{FRANKENSTEIN},Frankenstein,Mary Shelley,The modern Prometheus.,,Dover,1994,en,Horror,4.99,8\n"
        + f"{DRACULA},Dracula,Bram Stoker,,,,,en,,cheap,3\n",
    )

    summary = import_books(path, batch_size=500)

    assert (summary.inserted, summary.updated, summary.rejected) == (1, 1, 2)
    assert [row["line"] for row in read_rejects(summary.rejects_path)] == ["3", "5"]
    emma = book(EMMA)
    assert (emma.price_cents, emma.stock, emma.description) == (1150, 4, "A new introduction.")
    assert [a.name for a in emma.authors] == ["Jane Austen", "Fay Weldon"]
    assert [g.name for g in emma.genres] == ["Classics", "Romance"]
    assert book(DRACULA).price_cents == 799  # its rejected row changed nothing
    assert book(FRANKENSTEIN).authors[0].name == "Mary Shelley"


def test_search_finds_imported_books_by_title_and_author_and_follows_updates(app_ctx, tmp_path):
    first_import(tmp_path)

    assert found("dracula") == ["Dracula"] and found("stoker") == ["Dracula"]
    assert found("highbury") == ["Emma"] and found("austen") == ["Emma"]

    renamed = write(tmp_path, "renamed.csv", HEADER + f"{DRACULA},Nosferatu,Max Schreck,,,,,en,,7.99,3\n")
    import_books(renamed)

    assert found("dracula") == [] and found("stoker") == []
    assert found("nosferatu") == ["Nosferatu"] and found("schreck") == ["Nosferatu"]


def test_imported_title_and_author_words_correct_a_misspelt_search(app_ctx, tmp_path):
    first_import(tmp_path)

    assert closest_words(["stokr", "draculla", "austne"]) == {
        "stokr": "stoker",
        "draculla": "dracula",
        "austne": "austen",
    }


def test_reimporting_the_same_file_counts_updates_and_leaves_the_books_as_they_were(app_ctx, tmp_path):
    first_import(tmp_path)
    before = {b.isbn13: (b.updated_at, b.title, b.price_cents) for b in db.session.scalars(select(Book))}
    db.session.rollback()

    summary = first_import(tmp_path)

    assert (summary.inserted, summary.updated, summary.rejected) == (0, 2, 0)
    after = {b.isbn13: (b.updated_at, b.title, b.price_cents) for b in db.session.scalars(select(Book))}
    assert after == before  # nothing changed, so nothing was rewritten
    assert found("stoker") == ["Dracula"]


def test_a_removed_book_that_is_imported_again_is_back_in_the_catalogue(app_ctx, tmp_path):
    first_import(tmp_path)
    remove_book(DRACULA)
    assert found("dracula") == []

    summary = first_import(tmp_path)

    assert summary.updated == 2 and book(DRACULA).removed_at is None
    assert found("dracula") == ["Dracula"]


def test_an_import_changes_the_cached_pages_of_the_books_it_updates(app, client, tmp_path):
    with app.app_context():
        first_import(tmp_path)
        emma = book(EMMA)
    assert b"$9.99" in client.get(f"/books/{emma.id}/{emma.slug}").data
    assert b"$9.99" in client.get("/books?q=emma").data
    path = write(tmp_path, "prices.csv", HEADER + f"{EMMA},Emma,Jane Austen,,,,,en,,12.25,1\n")

    with app.app_context():
        import_books(path)

    assert b"$12.25" in client.get(f"/books/{emma.id}/{emma.slug}").data
    assert b"$12.25" in client.get("/books?q=emma").data


def test_many_batches_give_the_same_books_as_one(app_ctx, tmp_path):
    rows = [
        f"{isbn_for(n)},Volume {n},Author {n % 7} Smith,,,,,en,Genre {n % 3},{n}.00,{n % 5}\n" for n in range(1, 60)
    ]
    path = write(tmp_path, "many.csv", HEADER + "".join(rows))

    summary = import_books(path, batch_size=7)

    assert (summary.inserted, summary.updated, summary.rejected) == (59, 0, 0)
    volume = book(isbn_for(58))
    assert (volume.title, volume.price_cents, volume.stock) == ("Volume 58", 5800, 3)
    assert [a.name for a in volume.authors] == ["Author 2 Smith"] and [g.name for g in volume.genres] == ["Genre 1"]
    assert len(found("smith")) == 24  # the first page of 59
