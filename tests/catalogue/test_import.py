"""Importing books from CSV and JSON Lines, and the ``flask books`` commands."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app.catalogue import importer
from app.catalogue.importer import import_books
from app.catalogue.services import CatalogueError, book_data_from_row, upsert_books
from app.extensions import db
from app.models import Author, Book

SAMPLE = Path(__file__).resolve().parents[2] / "app" / "seed" / "data" / "books.csv"
HEADER = "isbn,title,authors,description,cover_url,publisher,year,language,genres,price,stock\n"
EMMA = "9780141439587"
DRACULA = "9780141439846"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def book(isbn: str) -> Book | None:
    query = select(Book).where(Book.isbn13 == isbn).options(selectinload(Book.authors), selectinload(Book.genres))
    return db.session.scalar(query)


def book_count() -> int:
    return db.session.scalar(select(func.count(Book.id)))


def read_rejects(path: str | Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def run(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def one_line_error(result) -> str:
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    return lines[0]


MIXED_CSV = (
    HEADER
    + f'{EMMA},Emma,Jane Austen,"A matchmaker\nin Highbury.",,Penguin Classics,2003,en,Classics; Romance,9.99,12\n'
    + "9780141439580,Bad Checksum,Someone,,,,,en,,5.00,1\n"
    + f"{DRACULA},,Bram Stoker,,,,,en,Horror,7.99,3\n"
    + "9780141439518,No Author,,,,,,en,,7.99,3\n"
    + "\n"
    + "0-14-143951-3,Pride and Prejudice,Jane Austen,,,,,en,Classics,6.50,0\n"
    + "9780486280615,The Jungle Book,Rudyard Kipling,,,Dover,1995,en,,cheap,4\n"
    + "9780141441146,Moby-Dick,Herman Melville; ,,,,1851,en,Adventure,12,abc\n"
    + "9780140449136,Crime and Punishment,Fyodor Dostoevsky,,,,,en,,11.99,5,extra\n"
)


def test_csv_import_writes_the_good_rows_and_reports_the_bad_ones(app_ctx, tmp_path):
    path = write(tmp_path, "books.csv", MIXED_CSV)

    summary = import_books(path)

    assert (summary.inserted, summary.updated, summary.rejected) == (2, 0, 6)
    by_line = {reject.line: reject.reason for reject in summary.rejects}
    assert sorted(by_line) == [4, 5, 6, 9, 10, 11]  # the quoted description spans lines 2-3
    assert "check digit" in by_line[4]
    assert by_line[5] == "title is required"
    assert by_line[6] == "at least one author is required"
    assert "price 'cheap' is not an amount like 12.99" in by_line[9]
    assert "stock 'abc' is not a whole number" in by_line[10]
    assert "12 fields but the header has 11" in by_line[11]

    emma = book(EMMA)
    assert emma.title == "Emma" and emma.description == "A matchmaker\nin Highbury."
    assert emma.price_cents == 999 and emma.stock == 12 and emma.year == 2003
    assert [a.name for a in emma.authors] == ["Jane Austen"]
    assert [g.name for g in emma.genres] == ["Classics", "Romance"]
    pride = book("9780141439518")  # converted from the ISBN-10 0-14-143951-3
    assert pride.title == "Pride and Prejudice" and pride.price_cents == 650 and pride.stock == 0
    assert book_count() == 2


def test_rejects_file_has_line_reason_and_raw_text(app_ctx, tmp_path):
    path = write(tmp_path, "books.csv", MIXED_CSV)

    summary = import_books(path)

    assert summary.rejects_path == str(tmp_path / "books.csv.rejects.csv")
    rows = read_rejects(summary.rejects_path)
    assert [row["line"] for row in rows] == ["4", "5", "6", "9", "10", "11"]
    assert rows[0]["raw"] == "9780141439580,Bad Checksum,Someone,,,,,en,,5.00,1"
    assert "check digit" in rows[0]["reason"]


def test_no_rejects_file_when_every_row_is_good(app_ctx, tmp_path):
    path = write(tmp_path, "books.csv", HEADER + f"{EMMA},Emma,Jane Austen,,,,,en,,9.99,1\n")

    summary = import_books(path, rejects_path=tmp_path / "elsewhere.csv")

    assert (summary.inserted, summary.rejected, summary.rejects_path) == (1, 0, None)
    assert not (tmp_path / "elsewhere.csv").exists() and not (tmp_path / "books.csv.rejects.csv").exists()


def test_jsonl_import_accepts_lists_and_rejects_bad_lines(app_ctx, tmp_path):
    lines = [
        json.dumps(
            {
                "isbn": EMMA,
                "title": "Emma",
                "authors": ["Jane Austen"],
                "genres": ["Classics", "Romance"],
                "price_cents": 999,
                "stock": 4,
            }
        ),
        '{"isbn": "9780141439846", "title": "Dracula", ',
        "",
        '["not", "an", "object"]',
        json.dumps({"isbn": "0486282112", "title": "Frankenstein", "authors": "Mary Shelley", "price": "4.99"}),
        json.dumps({"isbn": "123", "title": "", "authors": [], "price": "-1"}),
    ]
    path = write(tmp_path, "books.jsonl", "\n".join(lines) + "\n")

    summary = import_books(path, rejects_path=tmp_path / "bad.csv")

    assert (summary.inserted, summary.updated, summary.rejected) == (2, 0, 3)
    by_line = {reject.line: reject.reason for reject in summary.rejects}
    assert by_line[2].startswith("malformed JSON")
    assert by_line[4] == "the line is not a JSON object"
    assert "not an ISBN" in by_line[6] and "title is required" in by_line[6]
    assert "at least one author is required" in by_line[6] and "price '-1'" in by_line[6]
    assert [g.name for g in book(EMMA).genres] == ["Classics", "Romance"]
    assert book("9780486282114").authors[0].name == "Mary Shelley"
    assert [row["line"] for row in read_rejects(tmp_path / "bad.csv")] == ["2", "4", "6"]


def test_reimport_updates_instead_of_duplicating(app_ctx, tmp_path):
    first = write(tmp_path, "books.csv", HEADER + f"{EMMA},Emma,Jane Austen,,,,,en,Classics,9.99,1\n")
    import_books(first)
    second = write(
        tmp_path,
        "books.ndjson",
        json.dumps({"isbn": EMMA, "title": "Emma", "authors": "Jane Austen", "price": "11.50", "stock": 7}) + "\n",
    )

    summary = import_books(second)

    assert (summary.inserted, summary.updated, summary.rejected) == (0, 1, 0)
    assert book_count() == 1
    emma = book(EMMA)
    assert emma.price_cents == 1150 and emma.stock == 7 and emma.genres == []


def test_a_later_row_for_the_same_isbn_wins_and_counts_as_updated(app_ctx, tmp_path):
    rows = [f"{EMMA},Emma,Jane Austen,,,,,en,,{price},1\n" for price in ("5.00", "6.00", "7.00")]
    path = write(tmp_path, "books.csv", HEADER + "".join(rows))

    for batch_size in (500, 2):
        db.session.execute(Book.__table__.delete())
        db.session.commit()
        summary = import_books(path, batch_size=batch_size)
        assert (summary.inserted, summary.updated, summary.rejected) == (1, 2, 0)
        assert book(EMMA).price_cents == 700


def test_a_batch_the_database_refuses_is_retried_row_by_row(app_ctx, tmp_path, monkeypatch):
    """Only the row the database refuses is rejected; nothing of the failed batch attempt is left."""

    def refuses_poison(items, *args):
        if any(item.title == "Poison" for item in items):
            db.session.execute(insert(Author), [{"name": "Half Written"}])
            raise IntegrityError("INSERT ...", {}, Exception("CHECK constraint failed: poison"))
        return upsert_books(items, *args)

    monkeypatch.setattr(importer, "upsert_books", refuses_poison)
    rows = [
        f"{EMMA},Emma,Jane Austen,,,,,en,,9.99,1\n",
        "9780141439518,Poison,Jane Austen,,,,,en,,9.99,1\n",
        f"{DRACULA},Dracula,Bram Stoker,,,,,en,,9.99,1\n",
    ]
    path = write(tmp_path, "books.csv", HEADER + "".join(rows))

    summary = import_books(path, batch_size=10)

    assert (summary.inserted, summary.updated, summary.rejected) == (2, 0, 1)
    assert summary.rejects[0].line == 3
    assert summary.rejects[0].reason == "the database refused the row: CHECK constraint failed: poison"
    assert book(EMMA) and book(DRACULA) and book("9780141439518") is None
    assert db.session.scalar(select(Author).where(Author.name == "Half Written")) is None


def test_progress_is_told_every_byte(app_ctx, tmp_path):
    rows = [f"{EMMA},Emma,Jane Austen,,,,,en,,9.99,1\n", f"{DRACULA},Dracula,Bram Stoker,,,,,en,,9.99,1\n"]
    path = write(tmp_path, "books.csv", HEADER + "".join(rows))
    steps: list[int] = []

    import_books(path, batch_size=1, progress=steps.append)

    assert sum(steps) == path.stat().st_size and len(steps) >= 2


def test_lines_that_are_not_utf8_are_rejected(app_ctx, tmp_path):
    path = tmp_path / "books.csv"
    path.write_bytes(
        HEADER.encode()
        + f"{EMMA},Emma,Jane Austen,,,,,en,,9.99,1\n".encode()
        + b"9780141439518,Caf\xe9,X,,,,,en,,1,1\n"
    )

    summary = import_books(path)

    assert (summary.inserted, summary.rejected) == (1, 1)
    assert summary.rejects[0].line == 3 and summary.rejects[0].reason == "the line is not valid UTF-8"


def test_files_import_cannot_read_are_refused_whole(app_ctx, tmp_path):
    with pytest.raises(CatalogueError, match="reads .csv, .jsonl or .ndjson"):
        import_books(write(tmp_path, "books.xlsx", "x"))
    with pytest.raises(CatalogueError, match="no title column"):
        import_books(write(tmp_path, "books.csv", "isbn,authors,price\n"))
    with pytest.raises(CatalogueError, match="no file"):
        import_books(tmp_path / "missing.csv")


def test_the_shipped_sample_imports_without_rejects(app_ctx):
    with SAMPLE.open(newline="", encoding="utf-8") as handle:
        expected = sum(1 for _ in csv.DictReader(handle))

    summary = import_books(SAMPLE, rejects_path="/nonexistent/should-not-be-written.csv")

    assert expected >= 250
    assert (summary.inserted, summary.updated, summary.rejected) == (expected, 0, 0)
    assert book_count() == expected


# ---- flask books ... ----------------------------------------------------------------------


def test_books_import_command_prints_a_summary_and_the_first_rejects(app, tmp_path):
    path = write(tmp_path, "books.csv", MIXED_CSV)

    result = run(app, "books", "import", str(path), "--batch-size", "1")

    assert result.exit_code == 2, result.output  # rows were rejected
    assert f"Imported {path}: 2 inserted, 0 updated, 6 rejected." in result.output
    assert "  line 4: " in result.output and "  line 5: title is required" in result.output
    assert "... and 1 more." in result.output
    assert f"Rejected rows are in {path}.rejects.csv." in result.output


def test_books_import_command_errors_are_one_line(app, tmp_path):
    assert "no file" in one_line_error(run(app, "books", "import", str(tmp_path / "missing.csv")))
    bad_header = write(tmp_path, "books.csv", "isbn,title\n")
    assert "no authors, price column" in one_line_error(run(app, "books", "import", str(bad_header)))
    not_a_catalogue = write(tmp_path, "books.txt", "x")
    assert ".csv, .jsonl or .ndjson" in one_line_error(run(app, "books", "import", str(not_a_catalogue)))


def test_books_add(app):
    result = run(
        app,
        "books",
        "add",
        "--isbn",
        "0-14-143951-3",
        "--title",
        "Pride and Prejudice",
        "--author",
        "Jane Austen",
        "--price",
        "8.99",
        "--stock",
        "3",
        "--genre",
        "Classics",
        "--genre",
        "Romance",
        "--year",
        "2003",
    )

    assert result.exit_code == 0, result.output
    with app.app_context():
        pride = book("9780141439518")
        assert result.output.strip() == f"Added Pride and Prejudice (id {pride.id}, ISBN 9780141439518)."
        assert pride.price_cents == 899 and pride.stock == 3 and len(pride.genres) == 2


def test_books_add_refuses_bad_input_in_one_line(app):
    base = ["books", "add", "--title", "Emma", "--author", "Jane Austen", "--stock", "1"]
    bad_isbn = one_line_error(run(app, *base, "--isbn", "9780141439580", "--price", "9.99"))
    assert "check digit" in bad_isbn
    bad_price = one_line_error(run(app, *base, "--isbn", EMMA, "--price", "nine"))
    assert "price 'nine' is not an amount like 12.99" in bad_price
    assert run(app, *base, "--isbn", EMMA, "--price", "9.99").exit_code == 0
    duplicate = one_line_error(run(app, *base, "--isbn", EMMA, "--price", "9.99"))
    assert "already in the catalogue" in duplicate


def add_emma(app) -> int:
    with app.app_context():
        upsert_books([book_data_from_row({"isbn": EMMA, "title": "Emma", "authors": "Jane Austen", "price": "9.99"})])
        return book(EMMA).id


def test_books_set_price_and_stock(app):
    book_id = add_emma(app)

    price = run(app, "books", "set-price", EMMA, "12.50")
    stock = run(app, "books", "set-stock", str(book_id), "17")

    assert price.exit_code == 0 and price.output.strip() == f"Emma (id {book_id}) now costs $12.50."
    assert stock.exit_code == 0 and stock.output.strip() == f"Emma (id {book_id}) now has 17 in stock."
    with app.app_context():
        assert (book(EMMA).price_cents, book(EMMA).stock) == (1250, 17)


def test_books_set_price_and_stock_refuse_bad_input(app):
    add_emma(app)
    assert "not an amount" in one_line_error(run(app, "books", "set-price", EMMA, "free"))
    assert "stock cannot be negative" in one_line_error(run(app, "books", "set-stock", EMMA, "-1"))
    assert "not a whole number" in one_line_error(run(app, "books", "set-stock", EMMA, "lots"))
    assert "check digit" in one_line_error(run(app, "books", "set-price", "9780141439580", "1.00"))


def test_books_remove(app):
    book_id = add_emma(app)

    result = run(app, "books", "remove", EMMA)

    assert result.exit_code == 0
    assert result.output.strip() == f"Removed Emma (id {book_id}, ISBN {EMMA}) from the catalogue."
    with app.app_context():
        assert book(EMMA).removed_at is not None


def test_commands_on_an_unknown_book_exit_1(app):
    assert one_line_error(run(app, "books", "remove", DRACULA)) == f"Error: no book {DRACULA}"
    assert one_line_error(run(app, "books", "set-price", "999", "1.00")) == "Error: no book 999"
    assert one_line_error(run(app, "books", "set-stock", DRACULA, "2")) == f"Error: no book {DRACULA}"


def test_a_formula_in_a_rejected_row_is_neutralised_in_the_rejects_file(app_ctx, tmp_path):
    lines = ["=cmd|' /C calc'!A0,Evil,Someone,,,,,en,,5.00,1", "-2+3,Sum,Someone,,,,,en,,5.00,1"]
    path = write(tmp_path, "books.csv", HEADER + "\n".join(lines) + "\n")

    summary = import_books(path)

    rows = read_rejects(summary.rejects_path)
    assert [row["line"] for row in rows] == ["2", "3"]
    assert [row["raw"] for row in rows] == ["'" + lines[0], "'" + lines[1]]
    assert all(not row["raw"].startswith(("=", "+", "-", "@")) for row in rows)
