"""books.cover_key, cover_width, cover_height: uploaded covers stored as content-hashed files

Revision ID: c4e8a1f09d2b
Revises: c5e8a1d2f3b4
Create Date: 2026-11-26 04:45:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c4e8a1f09d2b"
down_revision = "c5e8a1d2f3b4"
branch_labels = None
depends_on = None


def upgrade():
    # All nullable: a book without an uploaded cover gets a generated one.
    with op.batch_alter_table("books", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cover_key", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("cover_width", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("cover_height", sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table("books", schema=None) as batch_op:
        batch_op.drop_column("cover_height")
        batch_op.drop_column("cover_width")
        batch_op.drop_column("cover_key")
