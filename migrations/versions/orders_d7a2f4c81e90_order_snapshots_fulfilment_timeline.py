"""order snapshots (ship-to, shipping, tax, discount), fulfilment status, order timeline

Revision ID: d7a2f4c81e90
Revises: c3e8f1a2b9d4
Create Date: 2026-11-26 05:20:00

Existing orders keep every column; their subtotal is the sum of their lines, paid orders wait
for packing (a paid order was never shipped by this app), the others wait for payment or, once
paid then refunded count as cancelled.
"""

import sqlalchemy as sa
from alembic import op

revision = "d7a2f4c81e90"
down_revision = "c3e8f1a2b9d4"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("subtotal_cents", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("ship_to", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("shipping_method", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("shipping_cents", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("tax_cents", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("tax_rate_bp", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("tax_label", sa.String(length=100), nullable=True))
        batch_op.add_column(
            sa.Column("prices_include_tax", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("discount_cents", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("discount_code", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("guest_email", sa.String(length=320), nullable=True))
        batch_op.add_column(
            sa.Column("fulfilment_status", sa.String(length=20), server_default="awaiting_payment", nullable=False)
        )
        batch_op.add_column(sa.Column("carrier", sa.String(length=50), nullable=True))
        batch_op.add_column(sa.Column("tracking_number", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("tracking_url", sa.String(length=1000), nullable=True))
        batch_op.create_index(batch_op.f("ix_orders_fulfilment_status"), ["fulfilment_status"], unique=False)

    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("refunded_quantity", sa.Integer(), server_default="0", nullable=False))

    op.create_table(
        "order_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("ref", sa.String(length=100), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_order_events_order_id_orders"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_events")),
        sa.UniqueConstraint("order_id", "kind", "ref", name="uq_order_events_order_kind_ref"),
    )
    with op.batch_alter_table("order_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_order_events_order_id"), ["order_id"], unique=False)

    # Existing orders: the subtotal is what their lines add up to (no discount, shipping or tax then).
    op.execute(
        "UPDATE orders SET subtotal_cents = COALESCE((SELECT SUM(l.unit_price_cents * l.quantity) "
        "FROM order_lines l WHERE l.order_id = orders.id), total_cents)"
    )
    # Paid orders were never shipped by this app: they wait for packing. Paid, then refunded: cancelled.
    op.execute("UPDATE orders SET fulfilment_status = 'awaiting_packing' WHERE status = 'paid'")
    op.execute(
        "UPDATE orders SET fulfilment_status = 'cancelled' "
        "WHERE status IN ('refunded', 'refund_due') AND paid_at IS NOT NULL"
    )
    # Their timeline starts with what is known: placed (from created_at) and paid.
    op.execute(
        "INSERT INTO order_events (order_id, kind, ref, at, detail) "
        "SELECT id, 'paid', '', paid_at, '{}' FROM orders WHERE paid_at IS NOT NULL"
    )


def downgrade():
    with op.batch_alter_table("order_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_order_events_order_id"))
    op.drop_table("order_events")

    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.drop_column("refunded_quantity")

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_orders_fulfilment_status"))
        for column in (
            "tracking_url",
            "tracking_number",
            "carrier",
            "fulfilment_status",
            "guest_email",
            "discount_code",
            "discount_cents",
            "prices_include_tax",
            "tax_label",
            "tax_rate_bp",
            "tax_cents",
            "shipping_cents",
            "shipping_method",
            "ship_to",
            "subtotal_cents",
        ):
            batch_op.drop_column(column)
