"""refund steps in the fund ledger, idempotency keys on donations and orders, parked reasons

Revision ID: a1b2c3d4e5f6
Revises: 5c6d0eaff20f
Create Date: 2026-11-26 10:00:00

A donation or fund purchase can now be reversed in several steps: the ledger's unique keys name
the refund step (``refund_ref``) besides the kind and the donation or order.
"""

import sqlalchemy as sa
from alembic import op

revision = "a1b2c3d4e5f6"
down_revision = "5c6d0eaff20f"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("fund_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("refund_ref", sa.String(length=255), server_default="", nullable=False))
        batch_op.drop_constraint("uq_fund_entries_kind_donation", type_="unique")
        batch_op.drop_constraint("uq_fund_entries_kind_order", type_="unique")
        batch_op.create_unique_constraint(
            "uq_fund_entries_kind_donation_ref", ["kind", "donation_id", "refund_ref"]
        )
        batch_op.create_unique_constraint("uq_fund_entries_kind_order_ref", ["kind", "order_id", "refund_ref"])

    with op.batch_alter_table("donations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("idempotency_key", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint("uq_donations_user_idempotency_key", ["user_id", "idempotency_key"])

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("idempotency_key", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint("uq_orders_user_idempotency_key", ["user_id", "idempotency_key"])

    with op.batch_alter_table("payment_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("parked_reason", sa.String(length=200), nullable=True))
    op.execute(
        "UPDATE payment_events SET parked_reason = 'refund before its payment' "
        "WHERE applied = false AND type = 'charge.refunded'"
    )


def downgrade():
    with op.batch_alter_table("payment_events", schema=None) as batch_op:
        batch_op.drop_column("parked_reason")

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_constraint("uq_orders_user_idempotency_key", type_="unique")
        batch_op.drop_column("idempotency_key")

    with op.batch_alter_table("donations", schema=None) as batch_op:
        batch_op.drop_constraint("uq_donations_user_idempotency_key", type_="unique")
        batch_op.drop_column("idempotency_key")

    # Several refund steps of one donation or order cannot fit the old keys: keep the first.
    op.execute(
        "DELETE FROM fund_entries WHERE refund_ref <> '' AND id NOT IN ("
        "SELECT min(id) FROM fund_entries WHERE refund_ref <> '' GROUP BY kind, donation_id, order_id)"
    )
    with op.batch_alter_table("fund_entries", schema=None) as batch_op:
        batch_op.drop_constraint("uq_fund_entries_kind_order_ref", type_="unique")
        batch_op.drop_constraint("uq_fund_entries_kind_donation_ref", type_="unique")
        batch_op.create_unique_constraint("uq_fund_entries_kind_order", ["kind", "order_id"])
        batch_op.create_unique_constraint("uq_fund_entries_kind_donation", ["kind", "donation_id"])
        batch_op.drop_column("refund_ref")
