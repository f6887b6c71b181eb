"""guest orders: an order may have no account, then its guest_email says whose it is

Revision ID: e4b9c2d17a35
Revises: d2a7f4c81e60
Create Date: 2026-11-26 05:45:00

Existing orders all have an account, so the check holds for them.
"""

import sqlalchemy as sa
from alembic import op

revision = "e4b9c2d17a35"
down_revision = "d2a7f4c81e60"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.alter_column("user_id", existing_type=sa.Integer(), nullable=True)
        batch_op.create_check_constraint(
            batch_op.f("ck_orders_buyer_known"), "user_id IS NOT NULL OR guest_email IS NOT NULL"
        )


def downgrade():
    # Guest orders nobody claimed cannot keep their row without an account.
    op.execute("DELETE FROM orders WHERE user_id IS NULL")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_orders_buyer_known"), type_="check")
        batch_op.alter_column("user_id", existing_type=sa.Integer(), nullable=False)
