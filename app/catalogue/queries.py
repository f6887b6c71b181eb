"""Reading the catalogue: the listing with search, filters, sorting and pages; one book."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app.catalogue.search import candidates, corrected_query, count_matches
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
# A search finding fewer books than this may be a misspelling: the corrected search is tried too.
FEW_RESULTS = 3
# A search matching at most this many books ranks its description-only matches by text score too;
# one matching more lists them in catalogue order after the title and author matches.
RANK_ALL_UP_TO = 200


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
    exact: bool = False  # search for exactly what was typed, without correcting it

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items()}


@dataclass
class BookPage:
    books: list[Book]
    # A search counts up to a cap (SEARCH_COUNT_CAP): ``total`` is then the cap, and capped.
    total: int
    page: int
    per_page: int
    params: CatalogueParams
    genres: list[Genre] = field(default_factory=list)
    # The corrected query whose books are shown, because the query as typed found none.
    showing_for: str | None = None
    # A corrected query that finds more books than the query as typed ("Did you mean ...?").
    suggestion: str | None = None
    # More books match than ``total`` says: "1,000+ books".
    total_capped: bool = False

    def link_args(self, **overrides) -> dict:
        """The query arguments of this listing (without defaults), changed by ``overrides``."""
        p = self.params
        args = {
            "q": p.q,
            "genre": p.genre,
            "min_price": (p.min_price_cents / 100) if p.min_price_cents is not None else None,
            "max_price": (p.max_price_cents / 100) if p.max_price_cents is not None else None,
            "in_stock": "y" if p.in_stock else None,
            "sort": p.sort if p.sort != "relevance" else None,
            "per_page": p.per_page if p.per_page != 24 else None,
            **overrides,
        }
        return {k: v for k, v in args.items() if v not in (None, "", False)}

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def _filters(params: CatalogueParams) -> list:
    """The filters of ``params`` (genre, price, stock); every listing also leaves removed books out."""
    filters = []
    if params.genre:
        filters.append(
            Book.id.in_(
                select(book_genres.c.book_id)
                .join(Genre, Genre.id == book_genres.c.genre_id)
                .where(Genre.slug == params.genre)
            )
        )
    if params.min_price_cents is not None:
        filters.append(Book.price_cents >= params.min_price_cents)
    if params.max_price_cents is not None:
        filters.append(Book.price_cents <= params.max_price_cents)
    if params.in_stock:
        filters.append(Book.stock > 0)
    return filters


def _count(query: str, filters: list, cap: int) -> tuple[int, bool, bool]:
    """(total, capped, prefix): a search counts up to ``cap`` (its last word as a prefix if the
    words alone find fewer than FEW_RESULTS and the prefix more); browsing counts every listed book."""
    if not query.strip():
        return (
            db.session.scalar(select(func.count(Book.id)).where(Book.removed_at.is_(None), *filters)) or 0,
            False,
            False,
        )
    found, found_prefixed = count_matches(query, filters, cap, FEW_RESULTS)
    prefix = found_prefixed is not None and found_prefixed > found
    if prefix:
        found = found_prefixed
    return min(found, cap), found > cap, prefix


def list_books(params: CatalogueParams) -> BookPage:
    """One page of books matching ``params``, in three queries (count, rows, authors).

    A search counts up to SEARCH_COUNT_CAP books and ranks only its best candidates (see
    app/catalogue/search.py), so its cost does not grow with the number of books it matches;
    every sort orders those candidates. A search whose words find fewer than FEW_RESULTS books
    tries its last word as a prefix too ("cartog", in the same count query); if that finds few
    too, two more queries (the closest words, and the corrected search's count): with none
    found, the corrected search's books are shown instead; with some, the correction is offered
    as a suggestion.
    """
    cap = current_app.config["SEARCH_COUNT_CAP"]
    filters = _filters(params)
    query = params.q
    total, capped, prefix = _count(query, filters, cap)
    showing_for = suggestion = None
    if query.strip() and total < FEW_RESULTS and not params.exact:
        corrected = corrected_query(query)
        if corrected:
            corrected_total, corrected_capped, corrected_prefix = _count(corrected, filters, cap)
            if total == 0 and corrected_total:
                query, total, capped, prefix = corrected, corrected_total, corrected_capped, corrected_prefix
                showing_for = corrected
            elif corrected_total:
                suggestion = corrected
    stmt = select(Book)
    rank = None
    if query.strip():
        # Relevance pages need only the description-only matches up to this page; a sort by another
        # column orders the first ``cap`` (all of them when the count is not capped).
        page_end = min(params.page, -(-total // params.per_page) or 1) * params.per_page
        text_limit = page_end if params.sort == "relevance" and total > RANK_ALL_UP_TO else cap
        found = candidates(query, filters, text_limit, rank_text=total <= RANK_ALL_UP_TO, prefix=prefix)
        stmt = stmt.join(found, found.c.book_id == Book.id)
        rank = [found.c.tier, found.c.score]
    else:
        stmt = stmt.where(Book.removed_at.is_(None), *filters)
    order = {
        "title": [Book.title, Book.id],
        "newest": [Book.created_at.desc(), Book.id.desc()],
        "price": [Book.price_cents, Book.id],
        "price_desc": [Book.price_cents.desc(), Book.id],
    }.get(params.sort)
    if order is None:  # relevance: the search rank, or title when there is no query
        order = [*rank, Book.id] if rank is not None else [Book.title, Book.id]
    page = max(1, min(params.page, max(1, -(-total // params.per_page))))
    books = (
        db.session.scalars(
            stmt.options(selectinload(Book.authors))
            .order_by(*order)
            # A capped search shows no more books than its count says (the candidates may hold more).
            .limit(max(0, min(params.per_page, total - (page - 1) * params.per_page)))
            .offset((page - 1) * params.per_page)
        )
        .unique()
        .all()
    )
    return BookPage(
        books=list(books),
        total=total,
        page=page,
        per_page=params.per_page,
        params=params,
        showing_for=showing_for,
        suggestion=suggestion,
        total_capped=capped,
    )


def all_genres() -> list[tuple[str, str]]:
    """(slug, name) of every genre, for the filter; cached with the listings."""
    from app.catalogue.caching import cached, listing_key

    return cached(
        listing_key({"genres": True}),
        lambda: [(g.slug, g.name) for g in db.session.scalars(select(Genre).order_by(Genre.name))],
        timeout=current_app.config["CACHE_DEFAULT_TIMEOUT"],
    )


def get_book(book_id: int) -> Book | None:
    """A book with its authors and genres (two more queries), or None if unknown or removed."""
    return db.session.scalar(
        select(Book)
        .where(Book.id == book_id, Book.removed_at.is_(None))
        .options(selectinload(Book.authors), selectinload(Book.genres))
    )
