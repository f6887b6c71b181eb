"""Making catalogue data for tests: books with valid ISBNs."""

from __future__ import annotations

from sqlalchemy import select

from app.catalogue.isbn import isbn13_check_digit
from app.catalogue.services import book_data_from_row, upsert_books
from app.extensions import db
from app.models import Book


def isbn_for(n: int) -> str:
    first12 = f"978{n:09d}"
    return first12 + isbn13_check_digit(first12)


def make_books(rows: list[dict]) -> list[Book]:
    """Create books from partial rows (ISBN, authors and price get defaults)."""
    full = []
    for i, row in enumerate(rows):
        data = {"isbn": isbn_for(100000 + i), "authors": "Test Author", "price": "10.00", "stock": 5, **row}
        full.append(book_data_from_row(data))
    upsert_books(full)
    isbns = [item.isbn13 for item in full]
    books = db.session.scalars(select(Book).where(Book.isbn13.in_(isbns))).all()
    order = {isbn: i for i, isbn in enumerate(isbns)}
    return sorted(books, key=lambda b: order[b.isbn13])


def make_book(**row) -> Book:
    row.setdefault("title", "A Test Book")
    return make_books([row])[0]


def many_books(count: int, **row) -> list[Book]:
    return make_books([{"title": f"Volume {i:04d}", "isbn": isbn_for(200000 + i), **row} for i in range(count)])


def make_guest_order(email: str, copies: list, **columns):
    """A pending order of a visitor without an account (as the checkout's guest path makes), committed."""
    from app.orders.services import pending_order
    from app.payments.gateway import get_gateway

    order = pending_order(None, copies, gateway=get_gateway().name, guest_email=email, **columns)
    db.session.add(order)
    db.session.commit()
    return order
