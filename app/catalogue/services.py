"""Changing the catalogue: validated book data, batch upserts by ISBN, price, stock, removal.

Every change invalidates the cached catalogue fragments after it commits.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from app.catalogue.caching import invalidate_books
from app.catalogue.isbn import InvalidISBN, normalise_isbn
from app.extensions import db
from app.models import Book
from app.models.base import utcnow

if TYPE_CHECKING:
    from app.catalogue.upserts import NameCache

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


NOT_SLUG = re.compile(r"[^a-z0-9]+")
PRICE = re.compile(r"\d+(\.\d{1,2})?")
WHOLE_NUMBER = re.compile(r"-?\d+")
LIST_SEPARATORS = re.compile(r"[;|]")


def slugify(text: str, max_length: int = 80) -> str:
    # ASCII text is its own NFKD form: only other text needs the (slower) decomposition.
    ascii_text = text if text.isascii() else unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = NOT_SLUG.sub("-", ascii_text.lower()).strip("-")
    return slug[:max_length].rstrip("-") or "book"


def parse_price_cents(value: Any) -> int:
    """Cents from ``12.99``, ``"12.99"``, ``"$12.99"`` or an int of cents given as ``price_cents``."""
    text_value = str(value).strip().lstrip("$").replace(",", "")
    if not PRICE.fullmatch(text_value):
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
    if WHOLE_NUMBER.fullmatch(text_value):
        return int(text_value)
    raise CatalogueError(f"{name} {value!r} is not a whole number")


LIMITS = {"author": 200, "genre": 80, "publisher": 200, "cover_url": 500, "authors_text": 1000}


def _split_list(value: Any) -> list[str]:
    if value is None:
        return []
    items = value if isinstance(value, list) else LIST_SEPARATORS.split(str(value))
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


# While an import runs, the books its batches change are collected here and invalidated once at
# the end (``invalidation_deferred``) rather than after every batch.
_deferred_ids: ContextVar[set[int] | None] = ContextVar("deferred_book_invalidation", default=None)


@contextmanager
def invalidation_deferred() -> Iterator[None]:
    """Invalidate the cached catalogue once, on leaving the block, for every upsert made in it."""
    ids: set[int] = set()
    token = _deferred_ids.set(ids)
    try:
        yield
    finally:
        _deferred_ids.reset(token)
        # Even when the block fails: the batches committed before the failure are in the database.
        invalidate_books(sorted(ids))


def upsert_books(items: list[BookData], names: NameCache | None = None) -> tuple[int, int]:
    """Insert new books and update existing ones (matched by ISBN) in one transaction.

    Returns (inserted, updated). The caller batches; a batch is all or nothing. Authors keep
    the row's order. A fixed number of statements per batch, whatever its size
    (app/catalogue/upserts.py). ``names`` lets an import remember authors, genres and vocabulary
    words across its batches.
    """
    from app.catalogue.upserts import write_books  # it imports this module's BookData and slugify

    if not items:
        return 0, 0
    try:
        written = write_books(items, names)
        db.session.commit()
    except Exception:
        db.session.rollback()
        if names is not None:
            names.clear()  # what the failed batch added is gone
        raise
    deferred = _deferred_ids.get()
    if deferred is not None:
        deferred.update(written.updated_ids)
    else:
        # New books have nothing cached; only listings and the updated books' pages go stale.
        invalidate_books(written.updated_ids)
    return written.inserted, written.updated


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
