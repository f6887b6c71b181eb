"""search_words: the words of titles and author names, for correcting misspelt searches

Revision ID: c5e8a1d2f3b4
Revises: b7d41e2a9c10
Create Date: 2026-11-26 04:45:00.000000

"""

import re

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c5e8a1d2f3b4"
down_revision = "b7d41e2a9c10"
branch_labels = None
depends_on = None

FILL_BATCH = 5000


def _words(text):
    # As app/catalogue/vocabulary.py words_of (migrations import nothing from the app).
    return {w for w in re.findall(r"\w+", (text or "").lower()) if w.isalpha() and 3 <= len(w) <= 64}


def upgrade():
    search_words = op.create_table(
        "search_words",
        sa.Column("word", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("word", name=op.f("pk_search_words")),
    )
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        # Trust auth as postgres here; elsewhere the extension may need a superuser once.
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        # fastupdate off: new words go straight into the index, not a pending list that the
        # planner counts against the index until a vacuum (which made it choose a full scan).
        op.execute(
            "CREATE INDEX ix_search_words_trgm ON search_words USING GIN (word gin_trgm_ops) WITH (fastupdate = off)"
        )
        # Byte order, so "words starting with" is a range of this index whatever the collation.
        op.execute('CREATE INDEX ix_search_words_prefix ON search_words (word COLLATE "C")')
    # The books already there (the services keep the table from now on).
    words = set()
    for title, authors_text in bind.execute(sa.text("SELECT title, authors_text FROM books")):
        words |= _words(title) | _words(authors_text)
    ordered = sorted(words)
    for start in range(0, len(ordered), FILL_BATCH):
        op.bulk_insert(search_words, [{"word": w} for w in ordered[start : start + FILL_BATCH]])


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_search_words_prefix")
        op.execute("DROP INDEX IF EXISTS ix_search_words_trgm")
    op.drop_table("search_words")
