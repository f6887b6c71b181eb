"""clubs.hidden: an admin can hide a club from the directory

Revision ID: b7d41e2a9c10
Revises: a1f3c9e27b40
Create Date: 2026-11-26 02:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b7d41e2a9c10"
down_revision = "a1f3c9e27b40"
branch_labels = None
depends_on = None


def upgrade():
    # The server default fills the rows already there (SQLite and PostgreSQL alike).
    with op.batch_alter_table("clubs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("hidden", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table("clubs", schema=None) as batch_op:
        batch_op.drop_column("hidden")
