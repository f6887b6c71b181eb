"""books.title_vector: the title, ISBN and authors alone, so a title match can be found and ranked
first without ranking every description that holds the words (PostgreSQL; SQLite's books_fts
already has the columns apart and is queried with a column filter)

Revision ID: f3a9c1d7e2b5
Revises: e4b9c2d17a35
Create Date: 2026-11-26 08:00:00.000000

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "f3a9c1d7e2b5"
down_revision = "e4b9c2d17a35"
branch_labels = None
depends_on = None


def upgrade():
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
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_books_search_title")
    op.execute("ALTER TABLE books DROP COLUMN IF EXISTS title_vector")
