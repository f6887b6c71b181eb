"""A book's page: what changes with every sale (price, stock) read fresh, the rest cached.

The description, authors, genres, cover and the page's head are the same for every reader
and change only through the catalogue services, which bump the book's cache version
(``caching.invalidate_books``). Price and stock change with every order, so they come from one
small query on each request and show at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from app.extensions import db
from app.models import Book


@dataclass(frozen=True)
class ForSale:
    """The columns of a book its page reads on every request."""

    id: int
    slug: str
    title: str
    price_cents: int
    stock: int

    @property
    def in_stock(self) -> bool:
        return self.stock > 0


def for_sale(book_id: int) -> ForSale | None:
    """The book's price and stock (one query, five columns), or None if unknown or removed."""
    row = db.session.execute(
        select(Book.id, Book.slug, Book.title, Book.price_cents, Book.stock).where(
            Book.id == book_id, Book.removed_at.is_(None)
        )
    ).first()
    return ForSale(*row) if row else None
