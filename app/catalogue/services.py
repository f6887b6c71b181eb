"""Changing the catalogue: validated book data, batch upserts by ISBN, price, stock, removal.

Every change invalidates the cached catalogue fragments after it commits.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, insert, select

from app.catalogue.caching import invalidate_books
from app.catalogue.isbn import InvalidISBN, normalise_isbn
from app.catalogue.vocabulary import remember_words
from app.extensions import db
from app.models import Author, Book, Genre, book_authors, book_genres
from app.models.base import utcnow

MAX_PRICE_CENTS = 100_000_00


class CatalogueError(ValueError):
    """Input the catalogue refuses; the message says why."""


@dataclass
class BookData:
    isbn13: str
    title: str
    price_cents: int
    authors: list[str] = field(default_factory=list)
    description: str = ""
    cover_url: str | None = None
    # An uploaded cover (app/catalogue/covers.py); None keeps the book's current one.
    cover_key: str | None = None
    cover_width: int | None = None
    cover_height: int | None = None
    publisher: str | None = None
    year: int | None = None
    language: str = "en"
    genres: list[str] = field(default_factory=list)
    stock: int = 0


def slugify(text: str, max_length: int = 80) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:max_length].rstrip("-") or "book"


def parse_price_cents(value: Any) -> int:
    """Cents from ``12.99``, ``"12.99"``, ``"$12.99"`` or an int of cents given as ``price_cents``."""
    text_value = str(value).strip().lstrip("$").replace(",", "")
    if not re.fullmatch(r"\d+(\.\d{1,2})?", text_value):
        raise CatalogueError(f"price {value!r} is not an amount like 12.99")
    whole, _, frac = text_value.partition(".")
    cents = int(whole) * 100 + int((frac + "00")[:2])
    if cents > MAX_PRICE_CENTS:
        raise CatalogueError(f"price {value!r} is too high")
    return cents


def _whole_number(value: Any, name: str) -> int:
    """An int from an int or a string of digits; 12.7, True or "12x" are refused."""
    if isinstance(value, bool):
        raise CatalogueError(f"{name} {value!r} is not a whole number")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    text_value = str(value).strip()
    if re.fullmatch(r"-?\d+", text_value):
        return int(text_value)
    raise CatalogueError(f"{name} {value!r} is not a whole number")


LIMITS = {"author": 200, "genre": 80, "publisher": 200, "cover_url": 500, "authors_text": 1000}


def _split_list(value: Any) -> list[str]:
    if value is None:
        return []
    items = value if isinstance(value, list) else re.split(r"[;|]", str(value))
    seen: list[str] = []
    for item in (str(i).strip() for i in items):
        if item and item not in seen:
            seen.append(item)
    return seen


def _row_price_cents(row: dict[str, Any], problems: list[str]) -> int:
    """The row's price in cents (``price_cents``, else ``price``); 0 and a problem if it is not one."""
    try:
        if row.get("price_cents") not in (None, ""):
            price_cents = _whole_number(row["price_cents"], "price_cents")
            if price_cents < 0 or price_cents > MAX_PRICE_CENTS:
                raise CatalogueError(f"price_cents {price_cents} is out of range")
            return price_cents
        return parse_price_cents(row.get("price", ""))
    except CatalogueError as exc:
        problems.append(str(exc))
        return 0


def _row_whole_number(
    row: dict[str, Any],
    key: str,
    default: int | None,
    problems: list[str],
    problem_with: Callable[[int], str | None],
) -> int | None:
    """An optional whole-number column: ``default`` when empty; a problem when not whole or not allowed."""
    if row.get(key) in (None, ""):
        return default
    try:
        value = _whole_number(row[key], key)
    except CatalogueError as exc:
        problems.append(str(exc))
        return default
    problem = problem_with(value)
    if problem:
        problems.append(problem)
    return value


def _name_and_length_problems(row: dict[str, Any], authors: list[str], genres: list[str]) -> list[str]:
    """What is wrong with the row's authors, genres, publisher and cover URL."""
    problems = [] if authors else ["at least one author is required"]
    problems += [f"author name longer than {LIMITS['author']} characters" for a in authors if len(a) > LIMITS["author"]]
    problems += [f"genre longer than {LIMITS['genre']} characters" for g in genres if len(g) > LIMITS["genre"]]
    if len(", ".join(authors)) > LIMITS["authors_text"]:
        problems.append("too many authors")
    for key in ("publisher", "cover_url"):
        if len(str(row.get(key) or "")) > LIMITS[key]:
            problems.append(f"{key} longer than {LIMITS[key]} characters")
    return problems


def book_data_from_row(row: dict[str, Any]) -> BookData:
    """Validate one imported or typed row; raises CatalogueError naming every problem."""
    problems: list[str] = []
    isbn = ""
    try:
        isbn = normalise_isbn(str(row.get("isbn") or row.get("isbn13") or ""))
    except InvalidISBN as exc:
        problems.append(str(exc))
    title = str(row.get("title") or "").strip()
    if not title:
        problems.append("title is required")
    elif len(title) > 300:
        problems.append("title is longer than 300 characters")
    price_cents = _row_price_cents(row, problems)
    stock = _row_whole_number(row, "stock", 0, problems, lambda n: "stock cannot be negative" if n < 0 else None)
    year = _row_whole_number(
        row, "year", None, problems, lambda n: None if 1000 <= n <= 2100 else f"year {n} is not plausible"
    )
    authors = _split_list(row.get("authors") or row.get("author"))
    genres = _split_list(row.get("genres") or row.get("genre"))
    problems += _name_and_length_problems(row, authors, genres)
    if problems:
        raise CatalogueError("; ".join(problems))
    return BookData(
        isbn13=isbn,
        title=title,
        price_cents=price_cents,
        authors=authors,
        description=str(row.get("description") or "").strip(),
        cover_url=(str(row.get("cover_url")).strip() or None) if row.get("cover_url") else None,
        publisher=(str(row.get("publisher")).strip() or None) if row.get("publisher") else None,
        year=year,
        language=str(row.get("language") or "en").strip()[:8] or "en",
        genres=genres,
        stock=stock,
    )


def _names_to_rows(model, names: set[str], **extra) -> dict[str, Any]:
    """Existing rows for ``names``, creating the missing ones (one query plus one flush)."""
    found = {row.name: row for row in db.session.scalars(select(model).where(model.name.in_(names)))} if names else {}
    for name in names - found.keys():
        row = model(name=name, **{k: fn(name) for k, fn in extra.items()})
        db.session.add(row)
        found[name] = row
    return found


def _genres_by_name(names: set[str]) -> dict[str, Genre]:
    """Genres for ``names``, matched by slug ("Sci-Fi" and "sci fi" are one genre)."""
    slugs = {name: slugify(name) for name in names}
    found = {g.slug: g for g in db.session.scalars(select(Genre).where(Genre.slug.in_(set(slugs.values()))))}
    for name, slug in sorted(slugs.items()):
        if slug not in found:
            found[slug] = Genre(name=name, slug=slug)
            db.session.add(found[slug])
    return {name: found[slug] for name, slug in slugs.items()}


def upsert_books(items: list[BookData]) -> tuple[int, int]:
    """Insert new books and update existing ones (matched by ISBN) in one transaction.

    Returns (inserted, updated). The caller batches; a batch is all or nothing. Authors keep
    the row's order. A fixed number of statements per batch, whatever its size.
    """
    if not items:
        return 0, 0
    try:
        inserted, updated, changed_ids = _upsert(items)
    except Exception:
        db.session.rollback()
        raise
    # New books have nothing cached; only listings and the updated books' pages go stale.
    invalidate_books(changed_ids)
    return inserted, updated


def _upsert(items: list[BookData]) -> tuple[int, int, list[int]]:
    by_isbn = {item.isbn13: item for item in items}  # a later row for the same ISBN wins
    existing = {book.isbn13: book for book in db.session.scalars(select(Book).where(Book.isbn13.in_(by_isbn)))}
    authors = _names_to_rows(Author, {a for item in by_isbn.values() for a in item.authors})
    genres = _genres_by_name({g for item in by_isbn.values() for g in item.genres})
    books: dict[str, Book] = {}
    for isbn, item in by_isbn.items():
        book = existing.get(isbn)
        if book is None:
            book = Book(isbn13=isbn)
            db.session.add(book)
        book.removed_at = None
        book.title = item.title
        book.slug = slugify(item.title)
        book.description = item.description
        book.cover_url = item.cover_url
        if item.cover_key:
            book.cover_key, book.cover_width, book.cover_height = item.cover_key, item.cover_width, item.cover_height
        book.publisher = item.publisher
        book.year = item.year
        book.language = item.language
        book.price_cents = item.price_cents
        book.stock = item.stock
        book.authors_text = ", ".join(item.authors)
        books[isbn] = book
    db.session.flush()
    ids = [book.id for book in books.values()]
    db.session.execute(delete(book_authors).where(book_authors.c.book_id.in_(ids)))
    db.session.execute(delete(book_genres).where(book_genres.c.book_id.in_(ids)))
    author_rows = [
        {"book_id": books[isbn].id, "author_id": authors[name].id, "position": position}
        for isbn, item in by_isbn.items()
        for position, name in enumerate(item.authors)
    ]
    genre_rows = [
        {"book_id": books[isbn].id, "genre_id": genres[name].id}
        for isbn, item in by_isbn.items()
        for name in item.genres
    ]
    if author_rows:
        db.session.execute(insert(book_authors), author_rows)
    if genre_rows:
        db.session.execute(insert(book_genres), genre_rows)
    # New title and author words, so a misspelt search finds these books too.
    remember_words(f"{item.title} {' '.join(item.authors)}" for item in by_isbn.values())
    db.session.commit()
    return len(books) - len(existing), len(existing), [book.id for book in existing.values()]


def _book_or_fail(isbn_or_id: str | int) -> Book:
    book = None
    if isinstance(isbn_or_id, int) or str(isbn_or_id).isdigit() and len(str(isbn_or_id)) < 10:
        book = db.session.get(Book, int(isbn_or_id))
    else:
        try:
            book = db.session.scalar(select(Book).where(Book.isbn13 == normalise_isbn(str(isbn_or_id))))
        except InvalidISBN as exc:
            raise CatalogueError(str(exc)) from exc
    if book is None:
        raise CatalogueError(f"no book {isbn_or_id}")
    return book


def find_book(isbn_or_id: str | int) -> Book:
    """The book with this id or ISBN (removed or not); CatalogueError when there is none."""
    return _book_or_fail(isbn_or_id)


def set_price(isbn_or_id: str | int, price: str) -> Book:
    """Change a book's price (open orders keep the price they were created with)."""
    book = _book_or_fail(isbn_or_id)
    book.price_cents = parse_price_cents(price)
    db.session.commit()
    invalidate_books([book.id])
    return book


def set_stock(isbn_or_id: str | int, stock: int) -> Book:
    if stock < 0:
        raise CatalogueError("stock cannot be negative")
    book = _book_or_fail(isbn_or_id)
    book.stock = stock
    db.session.commit()
    invalidate_books([book.id])
    return book


def remove_book(isbn_or_id: str | int) -> Book:
    """Take a book out of the catalogue; orders that name it keep their lines."""
    book = _book_or_fail(isbn_or_id)
    book.removed_at = utcnow()
    db.session.commit()
    invalidate_books([book.id])
    return book
