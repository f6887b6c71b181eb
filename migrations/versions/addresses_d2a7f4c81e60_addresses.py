"""addresses: a reader's address book and a club's delivery address

Revision ID: d2a7f4c81e60
Revises: d7a3e5b1c920
Create Date: 2026-11-26 05:20:00

"""

import sqlalchemy as sa
from alembic import op

revision = "d2a7f4c81e60"
down_revision = "d7a3e5b1c920"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "addresses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("club_id", sa.Integer(), nullable=True),
        sa.Column("full_name", sa.String(length=120), nullable=False),
        sa.Column("company", sa.String(length=120), nullable=False),
        sa.Column("line1", sa.String(length=200), nullable=False),
        sa.Column("line2", sa.String(length=200), nullable=False),
        sa.Column("city", sa.String(length=120), nullable=False),
        sa.Column("city_area", sa.String(length=120), nullable=False),
        sa.Column("country_area", sa.String(length=120), nullable=False),
        sa.Column("postal_code", sa.String(length=20), nullable=False),
        sa.Column("country_code", sa.String(length=2), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=False),
        sa.Column("is_default", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(user_id IS NULL AND club_id IS NOT NULL) OR (user_id IS NOT NULL AND club_id IS NULL)",
            name=op.f("ck_addresses_one_owner"),
        ),
        sa.ForeignKeyConstraint(["club_id"], ["clubs.id"], name=op.f("fk_addresses_club_id_clubs"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_addresses_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_addresses")),
    )
    with op.batch_alter_table("addresses", schema=None) as batch_op:
        batch_op.create_index("ix_addresses_user_id", ["user_id"], unique=False)
        batch_op.create_index("uq_addresses_club_id", ["club_id"], unique=True)
        batch_op.create_index(
            "uq_addresses_user_default",
            ["user_id"],
            unique=True,
            sqlite_where=sa.text("is_default"),
            postgresql_where=sa.text("is_default"),
        )


def downgrade():
    with op.batch_alter_table("addresses", schema=None) as batch_op:
        batch_op.drop_index("uq_addresses_user_default")
        batch_op.drop_index("uq_addresses_club_id")
        batch_op.drop_index("ix_addresses_user_id")
    op.drop_table("addresses")
