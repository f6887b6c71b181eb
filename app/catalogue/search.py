"""Full-text search over title, authors, ISBN and description, behind one function.

SQLite uses the FTS5 table ``books_fts`` (bm25 ranking); PostgreSQL the generated, GIN-indexed
``books.search_vector`` (ts_rank). Both match every word of the query as a prefix, so a search
box can search as the reader types. An exact ISBN match always comes first.

A search that finds little can be corrected word by word (``corrected_query``) to the closest
words of titles and author names (app/catalogue/vocabulary.py).
"""

from __future__ import annotations

import re

from sqlalchemy import Float, Integer, Select, column, func, literal_column, or_, text

from app.catalogue.isbn import looks_like_isbn
from app.catalogue.vocabulary import closest_words
from app.extensions import db
from app.models import Book

MAX_TERMS = 8


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


def apply_search(stmt: Select, query: str) -> tuple[Select, object | None]:
    """Restrict ``stmt`` (a select of Book) to books matching ``query``; returns it and a rank.

    The rank is an SQL expression where a smaller value is a better match, or None when the
    query has no words to rank by (a bare "0" in ORDER BY would name a column position).
    """
    isbn = looks_like_isbn(query)
    terms = search_terms(query)
    exact = Book.isbn13 == isbn if isbn else None
    if not terms:
        return stmt.where(exact if exact is not None else literal_column("1") == 0), None

    if db.engine.dialect.name == "postgresql":
        tsquery = func.to_tsquery("simple", " & ".join(f"{t}:*" for t in terms))
        vector = literal_column("books.search_vector")
        matches = vector.op("@@")(tsquery)
        rank = -func.ts_rank(vector, tsquery)
        stmt = stmt.where(or_(matches, exact) if exact is not None else matches)
    else:
        fts = (
            text(
                "SELECT rowid AS book_id, bm25(books_fts, 10.0, 5.0, 10.0, 1.0) AS score "
                "FROM books_fts WHERE books_fts MATCH :match"
            )
            .bindparams(match=" ".join(f'"{t}"*' for t in terms))
            .columns(column("book_id", Integer), column("score", Float))
            .subquery("fts")
        )
        if exact is not None:
            stmt = stmt.outerjoin(fts, fts.c.book_id == Book.id).where(or_(fts.c.book_id.is_not(None), exact))
            rank = func.coalesce(fts.c.score, 0.0)
        else:
            stmt = stmt.join(fts, fts.c.book_id == Book.id)
            rank = fts.c.score
    if exact is not None:
        # An exact ISBN match sorts before any text match.
        from sqlalchemy import case

        rank = case((exact, -1e9), else_=rank)
    return stmt, rank
