"""Reading the catalogue: the listing with search, filters, sorting and pages; one book."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app.catalogue.search import apply_search
from app.extensions import db
from app.models import Book, Genre, book_genres

SORTS = {
    "relevance": "Best match",
    "title": "Title A–Z",
    "newest": "Newest first",
    "price": "Price, low to high",
    "price_desc": "Price, high to low",
}
PAGE_SIZES = (12, 24, 48)


@dataclass
class CatalogueParams:
    q: str = ""
    genre: str = ""
    min_price_cents: int | None = None
    max_price_cents: int | None = None
    in_stock: bool = False
    sort: str = "relevance"
    page: int = 1
    per_page: int = 24

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items()}


@dataclass
class BookPage:
    books: list[Book]
    total: int
    page: int
    per_page: int
    params: CatalogueParams
    genres: list[Genre] = field(default_factory=list)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def list_books(params: CatalogueParams) -> BookPage:
    """One page of books matching ``params``, in three queries (count, rows, authors)."""
    stmt = select(Book).where(Book.removed_at.is_(None))
    rank = None
    if params.q.strip():
        stmt, rank = apply_search(stmt, params.q)
    if params.genre:
        stmt = stmt.where(
            Book.id.in_(
                select(book_genres.c.book_id)
                .join(Genre, Genre.id == book_genres.c.genre_id)
                .where(Genre.slug == params.genre)
            )
        )
    if params.min_price_cents is not None:
        stmt = stmt.where(Book.price_cents >= params.min_price_cents)
    if params.max_price_cents is not None:
        stmt = stmt.where(Book.price_cents <= params.max_price_cents)
    if params.in_stock:
        stmt = stmt.where(Book.stock > 0)

    total = db.session.scalar(select(func.count()).select_from(stmt.with_only_columns(Book.id).subquery()))
    order = {
        "title": [Book.title, Book.id],
        "newest": [Book.created_at.desc(), Book.id.desc()],
        "price": [Book.price_cents, Book.id],
        "price_desc": [Book.price_cents.desc(), Book.id],
    }.get(params.sort)
    if order is None:  # relevance: the search rank, or title when there is no query
        order = [rank, Book.id] if rank is not None else [Book.title, Book.id]
    page = max(1, min(params.page, max(1, -(-total // params.per_page))))
    books = (
        db.session.scalars(
            stmt.options(selectinload(Book.authors))
            .order_by(*order)
            .limit(params.per_page)
            .offset((page - 1) * params.per_page)
        )
        .unique()
        .all()
    )
    return BookPage(books=list(books), total=total, page=page, per_page=params.per_page, params=params)


def all_genres() -> list[tuple[str, str]]:
    """(slug, name) of every genre, for the filter; cached with the listings."""
    from app.catalogue.caching import listing_key
    from app.extensions import cache

    key = listing_key({"genres": True})
    genres = cache.get(key)
    if genres is None:
        genres = [(g.slug, g.name) for g in db.session.scalars(select(Genre).order_by(Genre.name))]
        cache.set(key, genres)
    return genres


def get_book(book_id: int) -> Book | None:
    """A book with its authors and genres (two more queries), or None if unknown or removed."""
    return db.session.scalar(
        select(Book)
        .where(Book.id == book_id, Book.removed_at.is_(None))
        .options(selectinload(Book.authors), selectinload(Book.genres))
    )
