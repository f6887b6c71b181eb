"""Full-text search over title, authors, ISBN and description, behind a few functions.

SQLite uses the FTS5 tables ``books_fts`` (everything) and ``books_fts_titles`` (title, ISBN and
authors only), bm25 ranking; they index listed books only (the view ``books_listed``), so a
search without filters reads the FTS index alone. PostgreSQL uses the generated, GIN-indexed
``books.search_vector`` (everything, weighted) and ``books.title_vector`` (title, ISBN and
authors only), ts_rank; its planner reads books in order for common words and through the GIN
index for rarer ones (app/planner.py sets the page costs that make it choose so).
Both match every word of the query; the last one also as a prefix (``prefix``) when the words
alone find few books, so "cartog" finds cartographers. A prefix on a common word costs a merge
of the doclists of every word it starts (10 ms for a word in most of 100,000 descriptions, on
each query), where whole words stream and stop at the cap (0.1 ms).

The cost of a search must not grow with the number of books it matches (a few common words
match most of a large catalogue), so nothing here ranks or counts every match:

- ``count_matches`` counts up to a cap (``SEARCH_COUNT_CAP``): "1,000+ books";
- ``candidates`` takes, in tiers, an exact ISBN match first, then at most ``limit`` books whose
  title, ISBN or authors hold every word, then at most ``limit`` books that hold them anywhere,
  and ranks only those. A title or author match always outranks a description-only match; when
  more books match than the cap, the description-only ones are the first ``limit`` found.

A search that finds little can be corrected word by word (``corrected_query``) to the closest
words of titles and author names (app/catalogue/vocabulary.py).
"""

from __future__ import annotations

import re

from sqlalchemy import Float, Integer, Select, case, func, literal, literal_column, select, union, union_all
from sqlalchemy.sql import ColumnElement, column, table

from app.catalogue.isbn import looks_like_isbn
from app.catalogue.vocabulary import closest_words
from app.extensions import db
from app.models import Book

MAX_TERMS = 8
# bm25 weights of title, authors_text, isbn13 (and description) (SQLite).
BM25 = {
    "books_fts": "bm25(books_fts, 10.0, 5.0, 10.0, 1.0)",
    "books_fts_titles": "bm25(books_fts_titles, 10.0, 5.0, 10.0)",
}
ISBN_TIER, TITLE_TIER, TEXT_TIER = 0, 1, 2
# Title and author matches ranked by text score (bm25 costs about 15 us a row on SQLite).
TITLE_CANDIDATES = 200

books_fts = table("books_fts", column("rowid", Integer))
books_fts_titles = table("books_fts_titles", column("rowid", Integer))


def search_terms(query: str) -> list[str]:
    """The words of a query, safe to put in an FTS expression (letters and digits only)."""
    return re.findall(r"\w+", query.lower())[:MAX_TERMS]


def corrected_query(query: str) -> str | None:
    """The query with each unknown word replaced by the closest known one, or None if none is.

    One query, whatever the number of words. An ISBN is never corrected.
    """
    if looks_like_isbn(query):
        return None
    terms = search_terms(query)
    corrections = closest_words(terms)
    if not corrections:
        return None
    return " ".join(corrections.get(term, term) for term in terms)


def _postgres() -> bool:
    return db.engine.dialect.name == "postgresql"


def _matching(terms: list[str], filters: list[ColumnElement], titles_only: bool, ranked: bool, prefix: bool) -> Select:
    """Ids (and a score, smaller is better) of listed books holding every term (the last one as a
    prefix if ``prefix``) and passing ``filters``, in no particular order."""
    if _postgres():
        tsquery = func.to_tsquery("simple", " & ".join(terms[:-1] + [f"{terms[-1]}:*" if prefix else terms[-1]]))
        vector = literal_column("books.title_vector" if titles_only else "books.search_vector")
        matched = vector.op("@@")(tsquery)
        if prefix and len(terms) > 1:
            # A prefix reads, in the GIN index, every word it starts ("truth:*" merges all of
            # "truth"'s 60,000 books: 13 ms). The whole words find the books (a few when a prefix
            # is tried); the prefix is then checked on those rows: ts_match_vq is @@, unindexed.
            whole_words = func.to_tsquery("simple", " & ".join(terms[:-1]))
            matched = vector.op("@@")(whole_words) & func.ts_match_vq(vector, tsquery)
        stmt = select(Book.id.label("book_id")).where(matched, Book.removed_at.is_(None), *filters)
        # Ranked by the whole (weighted) vector in both tiers, so scores compare within a tier.
        score = -func.ts_rank(literal_column("books.search_vector"), tsquery)
    else:
        words = " ".join([f'"{t}"' for t in terms[:-1]] + [f'"{terms[-1]}"*' if prefix else f'"{terms[-1]}"'])
        fts = books_fts_titles if titles_only else books_fts
        # The FTS tables hold listed books only (they index the view books_listed): without filters
        # the matches come from the index alone, with no lookup into books.
        stmt = select(fts.c.rowid.label("book_id")).where(literal_column(fts.name).op("MATCH")(literal(words)))
        if filters:
            stmt = stmt.join(Book, Book.id == fts.c.rowid).where(*filters)
        score = literal_column(BM25[fts.name], Float)
    return stmt.add_columns(score.label("score")) if ranked else stmt


def _isbn_match(query: str, filters: list[ColumnElement]) -> Select | None:
    isbn = looks_like_isbn(query)
    if not isbn:
        return None
    return select(Book.id.label("book_id")).where(Book.isbn13 == isbn, Book.removed_at.is_(None), *filters)


def _counted(query: str, filters: list[ColumnElement], cap: int, prefix: bool):
    """The number of listed books matching, up to ``cap + 1``, as a scalar subquery."""
    terms = search_terms(query)
    parts = [_matching(terms, filters, False, ranked=False, prefix=prefix).limit(cap + 1)] if terms else []
    isbn = _isbn_match(query, filters)
    if isbn is not None:
        parts.append(isbn)
    if not parts:
        return literal(0)
    found = (union(*[p.subquery().select() for p in parts]) if len(parts) > 1 else parts[0]).subquery()
    return select(func.count()).select_from(found).scalar_subquery()


def count_matches(query: str, filters: list[ColumnElement], cap: int, few: int) -> tuple[int, int | None]:
    """How many listed books match ``query`` and ``filters``, counted up to ``cap + 1``; and, only
    when that is fewer than ``few``, how many match with the last word as a prefix (one query: the
    prefix count is evaluated only when the CASE needs it)."""
    # Materialized, so that the count runs once (PostgreSQL runs a scalar subquery written twice twice).
    words = select(_counted(query, filters, cap, prefix=False).label("found")).cte("words").prefix_with("MATERIALIZED")
    prefixed = _counted(query, filters, cap, prefix=True)
    found, found_prefixed = db.session.execute(select(words.c.found, case((words.c.found < few, prefixed)))).one()
    return found or 0, found_prefixed


def candidates(query: str, filters: list[ColumnElement], text_limit: int, rank_text: bool, prefix: bool):
    """The listed books to show for ``query`` that pass ``filters``, ranked: a subquery of
    (book_id, tier, score), one row per book; order by tier, then score (smaller is better), then book id.

    Only these are ranked: an exact ISBN match (tier 0), at most TITLE_CANDIDATES books whose
    title, ISBN or authors hold every word (tier 1, by text score; more go to tier 2), then the
    first ``text_limit`` books
    (by id) holding them anywhere (tier 2: by text score if ``rank_text``, else by id, so that a
    search matching most of the catalogue never scores every match).
    """
    terms = search_terms(query)
    parts = []
    isbn = _isbn_match(query, filters)
    if isbn is not None:
        parts.append(isbn.add_columns(literal(ISBN_TIER).label("tier"), literal(0.0).label("score")))
    if terms:
        titles = _matching(terms, filters, True, ranked=True, prefix=prefix).limit(TITLE_CANDIDATES).subquery()
        parts.append(select(titles.c.book_id, literal(TITLE_TIER).label("tier"), titles.c.score))
        text_matches = _matching(terms, filters, False, ranked=rank_text, prefix=prefix)
        if not rank_text:
            text_matches = text_matches.add_columns(literal(0.0).label("score"))
        # FTS5 yields rows in rowid (book id) order: ordering by its rowid sorts nothing.
        by_id = Book.id if _postgres() else books_fts.c.rowid
        text_matches = text_matches.order_by(by_id).limit(text_limit).subquery()
        parts.append(select(text_matches.c.book_id, literal(TEXT_TIER).label("tier"), text_matches.c.score))
    if not parts:  # nothing searchable (punctuation only): no books
        parts.append(
            select(Book.id.label("book_id"), literal(TEXT_TIER).label("tier"), literal(0.0).label("score")).where(
                literal(False)
            )
        )
    found = union_all(*parts).subquery("found")
    return (
        select(found.c.book_id, func.min(found.c.tier).label("tier"), func.min(found.c.score).label("score"))
        .group_by(found.c.book_id)
        .subquery("candidates")
    )
