"""Writing a batch of validated books in a fixed number of set-based statements, on either database.

``write_books`` is what ``services.upsert_books`` and the importer run: no ORM objects, a fixed
number of statements per batch. Books are upserted by ISBN; an existing book whose columns would
not change is left as it is, and a book whose authors and genres are the same keeps its link rows,
so re-importing the same file rewrites nothing and no search entry is rebuilt. On PostgreSQL the
books go through ``COPY`` into a temporary table (psycopg 3), then an UPDATE of the known books and
an ``INSERT ... SELECT ... ON CONFLICT`` of the others; SQLite takes one prepared statement through
``executemany``. Authors, genres and the search vocabulary are looked up through a ``NameCache``
that an import keeps across its batches, so only names never seen before reach the database.

The full-text index: PostgreSQL's ``search_vector`` and ``title_vector`` are generated columns.
SQLite's FTS5 tables ``books_fts`` and ``books_fts_titles`` are kept by triggers on ``books``,
except that a batch written here holds a row in ``books_fts_deferred`` while it inserts, so the
insert triggers stand aside, and then indexes its new books with one ``INSERT ... SELECT`` per FTS
table (a row trigger into FTS5 costs several times as much). Any other insert is indexed as before.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from itertools import islice
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    Table,
    Text,
    all_,
    any_,
    bindparam,
    cast,
    delete,
    func,
    insert,
    literal_column,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from app.catalogue.services import BookData, slugify
from app.catalogue.vocabulary import remember_words
from app.extensions import db
from app.models import Author, Book, Genre, book_authors, book_genres
from app.models.base import utcnow

# Columns an import sets on every book; the cover columns change only when a row brings a cover.
BOOK_COLUMNS = (
    "title",
    "slug",
    "description",
    "cover_url",
    "publisher",
    "year",
    "language",
    "price_cents",
    "stock",
    "authors_text",
    "removed_at",
)
COVER_COLUMNS = ("cover_key", "cover_width", "cover_height")
# Names per IN (...) list: well under SQLite's 32,766 bound parameters.
LOOKUP_CHUNK = 10_000


@dataclass
class NameCache:
    """Ids of authors and genres and the vocabulary words known to be in the database.

    An import keeps one across its batches; after a rollback it must be ``clear()``ed, since names
    added by the rolled-back batch are gone again.
    """

    author_ids: dict[str, int] = field(default_factory=dict)
    genre_ids: dict[str, int] = field(default_factory=dict)  # by slug
    words: set[str] = field(default_factory=set)

    def clear(self) -> None:
        self.author_ids.clear()
        self.genre_ids.clear()
        self.words.clear()


@dataclass
class WrittenBatch:
    inserted: int
    updated: int
    updated_ids: list[int]  # the books that existed before: their cached pages are stale


def _chunks(values: Iterable, size: int = LOOKUP_CHUNK) -> Iterator[list]:
    iterator = iter(values)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _is_postgresql() -> bool:
    return db.engine.dialect.name == "postgresql"


def _insert(table):
    return (postgresql.insert if _is_postgresql() else sqlite.insert)(table)


def _in(column, values: list):
    """``column IN values`` with one parameter: an array on PostgreSQL (``= ANY``), JSON on SQLite
    (``IN (SELECT value FROM json_each(?))``), so a long list costs no per-value parameter handling."""
    if _is_postgresql():
        return column == any_(bindparam(None, values, type_=postgresql.ARRAY(column.type)))
    return column.in_(select(literal_column("value")).select_from(func.json_each(json.dumps(values))))


def _ids_by_name(column, key_column, keys: set[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for chunk in _chunks(sorted(keys)):
        found.update(db.session.execute(select(key_column, column).where(_in(key_column, chunk))).tuples().all())
    return found


def _insert_links(table: Table, names: tuple[str, ...], rows: list[tuple[int, ...]]) -> None:
    """Insert link rows: ``INSERT ... SELECT FROM unnest(arrays)`` on PostgreSQL, ``executemany`` on SQLite."""
    if not rows:
        return
    if not _is_postgresql():
        _run_sql(f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})", rows)
        return
    # Each column as one integer-array literal ('{1,2,3}'), written here: psycopg's array dumper
    # costs about a microsecond per element, and a batch has tens of thousands.
    arrays = [
        cast(bindparam(None, "{" + ",".join(map(str, column)) + "}", type_=Text), postgresql.ARRAY(Integer))
        for column in zip(*rows, strict=True)
    ]
    unnested = func.unnest(*arrays).table_valued(*names).render_derived()
    db.session.execute(insert(table).from_select(list(names), select(unnested)))


def _replace_links(table: Table, columns: tuple[str, ...], wanted: dict[int, set[tuple[int, ...]]]) -> None:
    """Make ``table``'s rows for each book in ``wanted`` (book id: rows of ``columns``) exactly those.

    A book whose rows already match is not touched, so re-importing a file rewrites no link. New
    books are read too: where foreign keys are not enforced, a deleted book's links may outlive it.
    """
    current: dict[int, set[tuple[int, ...]]] = {book_id: set() for book_id in wanted}
    for chunk in _chunks(wanted):
        found = select(table.c.book_id, *(table.c[name] for name in columns)).where(_in(table.c.book_id, chunk))
        for book_id, *values in db.session.execute(found):
            current[book_id].add(tuple(values))
    stale = [book_id for book_id, rows in wanted.items() if rows != current[book_id]]
    for chunk in _chunks(b for b in stale if current[b]):
        db.session.execute(delete(table).where(_in(table.c.book_id, chunk)))
    rows = [(book_id, *row) for book_id in stale for row in sorted(wanted[book_id])]
    _insert_links(table, ("book_id", *columns), rows)


def _author_ids(names: set[str], cache: NameCache) -> dict[str, int]:
    """Ids for ``names``, inserting the authors the database does not have (two statements at most)."""
    missing = names - cache.author_ids.keys()
    if missing:
        stmt = _insert(Author.__table__).on_conflict_do_nothing(index_elements=["name"])
        db.session.execute(stmt, [{"name": name} for name in sorted(missing)])
        cache.author_ids.update(_ids_by_name(Author.id, Author.name, missing))
    return cache.author_ids


def _genre_ids(names: set[str], cache: NameCache) -> dict[str, int]:
    """Ids by slug for genre ``names`` ("Sci-Fi" and "sci fi" are one genre; a new one takes the first name)."""
    slugs = {name: slugify(name) for name in names}
    missing: dict[str, str] = {}
    for name, slug in sorted(slugs.items()):
        if slug not in cache.genre_ids:
            missing.setdefault(slug, name)
    if missing:
        stmt = _insert(Genre.__table__).on_conflict_do_nothing(index_elements=["slug"])
        db.session.execute(stmt, [{"name": name, "slug": slug} for slug, name in sorted(missing.items())])
        cache.genre_ids.update(_ids_by_name(Genre.id, Genre.slug, set(missing)))
    return {name: cache.genre_ids[slug] for name, slug in slugs.items()}


def _book_row(item: BookData, slug: str, now) -> dict[str, Any]:
    return {
        "isbn13": item.isbn13,
        "title": item.title,
        "slug": slug,
        "description": item.description,
        "cover_url": item.cover_url,
        "cover_key": item.cover_key,
        "cover_width": item.cover_width,
        "cover_height": item.cover_height,
        "publisher": item.publisher,
        "year": item.year,
        "language": item.language,
        "price_cents": item.price_cents,
        "stock": item.stock,
        "authors_text": ", ".join(item.authors),
        "removed_at": None,
        "created_at": now,
        "updated_at": now,
    }


def _changed(table, new) -> Any:
    """True when an existing book would change: ``new`` is the proposed row (excluded or staged)."""
    differs = [table.c[name].is_distinct_from(new[name]) for name in BOOK_COLUMNS]
    differs += [new[name].is_not(None) & table.c[name].is_distinct_from(new[name]) for name in COVER_COLUMNS]
    return or_(*differs)


def _update_set(table, new) -> dict[str, Any]:
    values: dict[str, Any] = {name: new[name] for name in BOOK_COLUMNS}
    values.update({name: func.coalesce(new[name], table.c[name]) for name in COVER_COLUMNS})
    values["updated_at"] = new["updated_at"]
    return values


def _run_sql(sql: str, params: list | tuple) -> None:
    """Run ``sql`` (``?`` parameters) in the session's transaction; a list of tuples is an
    ``executemany`` that skips SQLAlchemy's per-row parameter processing (most of a batch's CPU),
    while errors still come wrapped as SQLAlchemy's (the importer retries a refused batch on them)."""
    db.session.connection().exec_driver_sql(sql, params)


@cache
def _sqlite_upsert() -> tuple[str, tuple[str, ...]]:
    """``INSERT ... ON CONFLICT DO UPDATE ... WHERE changed`` with ``?`` parameters, and their columns."""
    books: Table = Book.__table__
    stmt = sqlite.insert(books)
    stmt = stmt.on_conflict_do_update(
        index_elements=["isbn13"], set_=_update_set(books, stmt.excluded), where=_changed(books, stmt.excluded)
    )
    compiled = stmt.compile(dialect=sqlite.dialect(), column_keys=list(STAGED_COLUMNS))
    return str(compiled), tuple(compiled.positiontup)


# SQLite's full-text tables and their columns, as the migrations create them (search_f3a9c1d7e2b5,
# 0af9869423f7; since a7c2e9f4b1d3 they index listed books only). Their insert triggers stand
# aside while books_fts_deferred has a row (import_b2d6e8f4a1c3), so a batch is indexed with one
# INSERT ... SELECT per table.
SQLITE_FTS_TABLES = {
    "books_fts": ("title", "authors_text", "isbn13", "description"),
    "books_fts_titles": ("title", "authors_text", "isbn13"),
}


def _index_new_books_sqlite(book_ids: list[int]) -> None:
    """Add the books ``book_ids`` (inserted while the triggers stood aside) to the FTS tables."""
    if not book_ids:
        return
    ids = json.dumps(book_ids)  # one parameter whatever the batch size
    for table, columns in SQLITE_FTS_TABLES.items():
        _run_sql(
            f"INSERT INTO {table}(rowid, {', '.join(columns)})"
            f" SELECT id, {', '.join(columns)} FROM books"
            " WHERE id IN (SELECT value FROM json_each(?)) AND removed_at IS NULL",  # listed books only
            (ids,),
        )


def _upsert_books_sqlite(rows: list[dict[str, Any]], existing: dict[str, int]) -> dict[str, int]:
    """Upsert ``rows`` (``executemany`` of one prepared statement); the ids of the new books by ISBN.

    The FTS insert triggers stand aside for the batch; its new books are indexed in one statement
    per FTS table. Updated books keep going through the update triggers.
    """
    books: Table = Book.__table__
    sql, columns = _sqlite_upsert()
    # Every row has the same timestamps: convert them once, as SQLAlchemy would.
    dialect = db.engine.dialect
    stamp = books.c.created_at.type.dialect_impl(dialect).bind_processor(dialect)
    now = stamp(rows[0]["created_at"]) if stamp else rows[0]["created_at"]
    values_of = itemgetter(*columns)  # one C call per row instead of a generator over its columns
    for row in rows:
        row["created_at"] = row["updated_at"] = now
    params = [values_of(row) for row in rows]
    # A failure rolls the whole transaction back, this row included (upsert_books does).
    _run_sql("INSERT INTO books_fts_deferred (since) VALUES (?)", (now,))
    _run_sql(sql, params)
    _run_sql("DELETE FROM books_fts_deferred", ())
    new = _ids_by_name(Book.id, Book.isbn13, {row["isbn13"] for row in rows} - existing.keys())
    _index_new_books_sqlite(list(new.values()))
    return new


STAGED_COLUMNS = ("isbn13", *BOOK_COLUMNS, *COVER_COLUMNS, "created_at", "updated_at")
STAGING_TABLE = text(
    """CREATE TEMPORARY TABLE IF NOT EXISTS staged_books (
        isbn13 text, title text, slug text, description text, cover_url text, publisher text,
        year integer, language text, price_cents integer, stock integer, authors_text text,
        removed_at timestamptz, cover_key text, cover_width integer, cover_height integer,
        created_at timestamptz, updated_at timestamptz
    ) ON COMMIT DELETE ROWS"""
)


# The staging table as SQLAlchemy sees it (not in the app's metadata: migrations never create it).
STAGED = Table(
    "staged_books", MetaData(), *(Column(c.name, c.type) for c in Book.__table__.c if c.name in STAGED_COLUMNS)
)


def _upsert_books_postgresql(rows: list[dict[str, Any]], existing: dict[str, int]) -> dict[str, int]:
    """As ``_upsert_books_sqlite``, through ``COPY`` into a temporary table, then an UPDATE of the
    books known to exist and an INSERT ... SELECT ... ON CONFLICT of the others."""
    db.session.execute(STAGING_TABLE)
    cursor = db.session.connection().connection.driver_connection.cursor()
    with cursor.copy(f"COPY staged_books ({', '.join(STAGED_COLUMNS)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row[name] for name in STAGED_COLUMNS])
    books: Table = Book.__table__
    known = bindparam(None, sorted(existing), type_=postgresql.ARRAY(Text))
    if existing:
        # An INSERT ... ON CONFLICT computes both generated tsvector columns of every row before
        # it meets the conflict; an UPDATE computes them only for the rows it changes.
        db.session.execute(
            update(books)
            .where(books.c.isbn13 == any_(known), books.c.isbn13 == STAGED.c.isbn13, _changed(books, STAGED.c))
            .values(_update_set(books, STAGED.c))
        )
    new = select(*(STAGED.c[n] for n in STAGED_COLUMNS)).where(STAGED.c.isbn13 != all_(known))
    stmt = postgresql.insert(books).from_select(list(STAGED_COLUMNS), new)
    stmt = stmt.on_conflict_do_update(
        index_elements=["isbn13"], set_=_update_set(books, stmt.excluded), where=_changed(books, stmt.excluded)
    ).returning(books.c.isbn13, books.c.id)
    return dict(db.session.execute(stmt).tuples().all())


def write_books(items: list[BookData], cache: NameCache | None = None) -> WrittenBatch:
    """Insert new books and update existing ones (matched by ISBN); the caller commits.

    A later item for the same ISBN wins. Authors keep the item's order; a book's authors and
    genres are replaced by the item's. The new title and author words join the search vocabulary.
    """
    cache = cache if cache is not None else NameCache()
    by_isbn = {item.isbn13: item for item in items}
    existing = _ids_by_name(Book.id, Book.isbn13, set(by_isbn))
    now = utcnow()
    rows = [_book_row(item, slugify(item.title), now) for item in by_isbn.values()]
    written = _upsert_books_postgresql(rows, existing) if _is_postgresql() else _upsert_books_sqlite(rows, existing)
    book_ids = {**existing, **written}

    author_ids = _author_ids({a for item in by_isbn.values() for a in item.authors}, cache)
    genre_ids = _genre_ids({g for item in by_isbn.values() for g in item.genres}, cache)
    authors_wanted = {
        book_ids[isbn]: {(author_ids[name], position) for position, name in enumerate(item.authors)}
        for isbn, item in by_isbn.items()
    }
    genres_wanted = {book_ids[isbn]: {(genre_ids[name],) for name in item.genres} for isbn, item in by_isbn.items()}
    _replace_links(book_authors, ("author_id", "position"), authors_wanted)
    _replace_links(book_genres, ("genre_id",), genres_wanted)
    # New title and author words, so a misspelt search finds these books too.
    remember_words((f"{item.title} {' '.join(item.authors)}" for item in by_isbn.values()), cache.words)
    return WrittenBatch(len(by_isbn) - len(existing), len(existing), list(existing.values()))
