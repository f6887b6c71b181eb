"""listed books only in SQLite's full-text tables: books_fts and books_fts_titles index the view
books_listed (books whose removed_at is null), so a search counts and ranks from the FTS tables
alone, with no lookup into books to leave removed books out

Revision ID: a7c2e9f4b1d3
Revises: f3a9c1d7e2b5
Create Date: 2026-11-26 09:00:00.000000

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "a7c2e9f4b1d3"
down_revision = "f3a9c1d7e2b5"
branch_labels = None
depends_on = None

TOKENIZE = "tokenize='unicode61 remove_diacritics 2'"
FTS_TABLES = {
    "books_fts": ["title", "authors_text", "isbn13", "description"],
    "books_fts_titles": ["title", "authors_text", "isbn13"],
}
TRIGGERS = [f"{table}_{event}" for table in FTS_TABLES for event in ("insert", "delete", "update")]


def _values(prefix: str, columns: list[str]) -> str:
    return ", ".join(f"{prefix}.{column}" for column in columns)


def _listed_only(table: str, columns: list[str]) -> list[str]:
    """The FTS table over books_listed and the triggers that keep it: a book is indexed while its
    removed_at is null, leaves the index when it is removed and comes back when it is listed again.
    ('rebuild' reads the view, so it too indexes listed books only.)"""
    names = ", ".join(columns)
    return [
        f"CREATE VIRTUAL TABLE {table} USING fts5({names}, content='books_listed', content_rowid='id', {TOKENIZE})",
        f"""CREATE TRIGGER {table}_insert AFTER INSERT ON books WHEN new.removed_at IS NULL BEGIN
            INSERT INTO {table}(rowid, {names}) VALUES (new.id, {_values("new", columns)});
        END""",
        f"""CREATE TRIGGER {table}_delete AFTER DELETE ON books WHEN old.removed_at IS NULL BEGIN
            INSERT INTO {table}({table}, rowid, {names}) VALUES ('delete', old.id, {_values("old", columns)});
        END""",
        # An external-content 'delete' must name exactly what was indexed (old values, old listing).
        f"""CREATE TRIGGER {table}_update AFTER UPDATE OF {names}, removed_at ON books BEGIN
            INSERT INTO {table}({table}, rowid, {names})
                SELECT 'delete', old.id, {_values("old", columns)} WHERE old.removed_at IS NULL;
            INSERT INTO {table}(rowid, {names})
                SELECT new.id, {_values("new", columns)} WHERE new.removed_at IS NULL;
        END""",
        f"INSERT INTO {table}({table}) VALUES ('rebuild')",
    ]


def _every_book(table: str, columns: list[str]) -> list[str]:
    """The definitions before this revision: every book indexed, removed ones too."""
    names = ", ".join(columns)
    return [
        f"CREATE VIRTUAL TABLE {table} USING fts5({names}, content='books', content_rowid='id', {TOKENIZE})",
        f"""CREATE TRIGGER {table}_insert AFTER INSERT ON books BEGIN
            INSERT INTO {table}(rowid, {names}) VALUES (new.id, {_values("new", columns)});
        END""",
        f"""CREATE TRIGGER {table}_delete AFTER DELETE ON books BEGIN
            INSERT INTO {table}({table}, rowid, {names}) VALUES ('delete', old.id, {_values("old", columns)});
        END""",
        f"""CREATE TRIGGER {table}_update AFTER UPDATE OF {names} ON books BEGIN
            INSERT INTO {table}({table}, rowid, {names}) VALUES ('delete', old.id, {_values("old", columns)});
            INSERT INTO {table}(rowid, {names}) VALUES (new.id, {_values("new", columns)});
        END""",
        f"INSERT INTO {table}({table}) VALUES ('rebuild')",
    ]


def _drop_fts() -> None:
    for trigger in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    for table in FTS_TABLES:
        op.execute(f"DROP TABLE IF EXISTS {table}")


def upgrade():
    # PostgreSQL filters removed books in the same scan (books.removed_at beside search_vector).
    if op.get_bind().dialect.name != "sqlite":
        return
    _drop_fts()
    op.execute("DROP VIEW IF EXISTS books_listed")  # tests rebuild the schema in a kept file
    op.execute(
        """CREATE VIEW books_listed AS
        SELECT id, title, authors_text, isbn13, description FROM books WHERE removed_at IS NULL"""
    )
    for table, columns in FTS_TABLES.items():
        for statement in _listed_only(table, columns):
            op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name != "sqlite":
        return
    _drop_fts()
    op.execute("DROP VIEW IF EXISTS books_listed")
    for table, columns in FTS_TABLES.items():
        for statement in _every_book(table, columns):
            op.execute(statement)
