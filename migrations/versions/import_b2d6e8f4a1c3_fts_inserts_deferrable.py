"""fts inserts deferrable: the SQLite FTS5 insert triggers of books_fts and books_fts_titles skip
the rows a bulk import writes while it holds a row in books_fts_deferred; the import then indexes
its whole batch with one INSERT ... SELECT per FTS table (a row trigger into FTS5 costs several
times as much). Every other insert still goes through the triggers. PostgreSQL: nothing.

Revision ID: b2d6e8f4a1c3
Revises: a7c2e9f4b1d3
Create Date: 2026-11-26 09:00:00.000000

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "b2d6e8f4a1c3"
down_revision = "a7c2e9f4b1d3"
branch_labels = None
depends_on = None

# The name starts with books_fts, so app.models.base.include_in_migrations leaves it out of
# autogenerate as the FTS tables are. Always empty outside an import's own transaction.
DEFERRED = "CREATE TABLE IF NOT EXISTS books_fts_deferred (since TEXT NOT NULL)"

INSERT_TRIGGERS = {
    "books_fts_insert": (
        "INSERT INTO books_fts(rowid, title, authors_text, isbn13, description)"
        " VALUES (new.id, new.title, new.authors_text, new.isbn13, new.description);"
    ),
    "books_fts_titles_insert": (
        "INSERT INTO books_fts_titles(rowid, title, authors_text, isbn13)"
        " VALUES (new.id, new.title, new.authors_text, new.isbn13);"
    ),
}


def _create_insert_triggers(deferrable: bool) -> None:
    # Listed books only, as since a7c2e9f4b1d3 (the FTS tables index the view books_listed).
    when = " WHEN new.removed_at IS NULL" + (" AND NOT EXISTS (SELECT 1 FROM books_fts_deferred)" if deferrable else "")
    for name, body in INSERT_TRIGGERS.items():
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute(f"CREATE TRIGGER {name} AFTER INSERT ON books{when} BEGIN {body} END")


def upgrade():
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(DEFERRED)
    _create_insert_triggers(deferrable=True)


def downgrade():
    if op.get_bind().dialect.name != "sqlite":
        return
    _create_insert_triggers(deferrable=False)
    op.execute("DROP TABLE IF EXISTS books_fts_deferred")
