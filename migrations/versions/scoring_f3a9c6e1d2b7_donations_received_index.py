"""donations: a partial covering index of received money by time, for contest scoring

Revision ID: f3a9c6e1d2b7
Revises: e4b9c2d17a35
Create Date: 2026-11-26 08:00:00.000000

On PostgreSQL the index is built CONCURRENTLY (outside the migration's transaction), so a
large donations table keeps taking donations while it builds. SQLite builds it in place.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "f3a9c6e1d2b7"
down_revision = "e4b9c2d17a35"
branch_labels = None
depends_on = None

COLUMNS = ["paid_at", "club_id", "user_id", "amount_cents", "refunded_cents"]
RECEIVED = sa.text("status IN ('paid', 'refunded')")


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            op.create_index(
                "ix_donations_received",
                "donations",
                COLUMNS,
                postgresql_where=RECEIVED,
                postgresql_concurrently=True,
                if_not_exists=True,
            )
    else:
        op.create_index("ix_donations_received", "donations", COLUMNS, sqlite_where=RECEIVED)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            op.drop_index("ix_donations_received", "donations", postgresql_concurrently=True, if_exists=True)
    else:
        op.drop_index("ix_donations_received", "donations")
