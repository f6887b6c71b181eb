"""title search: the title, ISBN and authors indexed alone, so a title match is found and ranked
first without reading every description that holds the words: books.title_vector (PostgreSQL,
generated, GIN) and books_fts_titles (SQLite, FTS5 over books, kept by triggers)

Revision ID: f3a9c1d7e2b5
Revises: f3a9c6e1d2b7
Create Date: 2026-11-26 08:00:00.000000

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "f3a9c1d7e2b5"
down_revision = "f3a9c6e1d2b7"
branch_labels = None
depends_on = None


# A column filter on books_fts ({title authors_text isbn13}: ...) gives the same matches, but walks
# the whole doclist of each word, descriptions included: 10 ms for a word in most descriptions.
SQLITE_TITLES = [
    """CREATE VIRTUAL TABLE IF NOT EXISTS books_fts_titles USING fts5(
        title, authors_text, isbn13,
        content='books', content_rowid='id', tokenize='unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER books_fts_titles_insert AFTER INSERT ON books BEGIN
        INSERT INTO books_fts_titles(rowid, title, authors_text, isbn13)
        VALUES (new.id, new.title, new.authors_text, new.isbn13);
    END""",
    """CREATE TRIGGER books_fts_titles_delete AFTER DELETE ON books BEGIN
        INSERT INTO books_fts_titles(books_fts_titles, rowid, title, authors_text, isbn13)
        VALUES ('delete', old.id, old.title, old.authors_text, old.isbn13);
    END""",
    """CREATE TRIGGER books_fts_titles_update AFTER UPDATE OF title, authors_text, isbn13 ON books BEGIN
        INSERT INTO books_fts_titles(books_fts_titles, rowid, title, authors_text, isbn13)
        VALUES ('delete', old.id, old.title, old.authors_text, old.isbn13);
        INSERT INTO books_fts_titles(rowid, title, authors_text, isbn13)
        VALUES (new.id, new.title, new.authors_text, new.isbn13);
    END""",
    "INSERT INTO books_fts_titles(books_fts_titles) VALUES ('rebuild')",
]


def upgrade():
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_TITLES:
            op.execute(statement)
        return
    if op.get_bind().dialect.name != "postgresql":
        return
    # Generated, as search_vector is: inserts and updates keep it with no trigger and no app code.
    op.execute(
        """ALTER TABLE books ADD COLUMN title_vector tsvector GENERATED ALWAYS AS (
            setweight(to_tsvector('simple', coalesce(title, '')), 'A') ||
            setweight(to_tsvector('simple', coalesce(isbn13, '')), 'A') ||
            setweight(to_tsvector('simple', coalesce(authors_text, '')), 'B')
        ) STORED"""
    )
    op.execute("CREATE INDEX ix_books_search_title ON books USING GIN (title_vector)")


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("books_fts_titles_insert", "books_fts_titles_delete", "books_fts_titles_update"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS books_fts_titles")
        return
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_books_search_title")
    op.execute("ALTER TABLE books DROP COLUMN IF EXISTS title_vector")
