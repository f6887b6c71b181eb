"""Carts, orders with their lines, and the payment gateway's events."""

from datetime import datetime
from enum import StrEnum, nonmember
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import TimestampMixin, UTCDateTime, utcnow
from app.models.payable import Payable, PaymentStatus


class CartItem(TimestampMixin, db.Model):
    __tablename__ = "cart_items"
    __table_args__ = (
        UniqueConstraint("user_id", "book_id", name="uq_cart_items_user_book"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    book_id: Mapped[int] = mapped_column(ForeignKey("books.id", ondelete="CASCADE"), nullable=False)
    quantity: Mapped[int] = mapped_column(Integer, nullable=False)


# Orders and donations share one set of statuses (app.models.payable).
OrderStatus = PaymentStatus


class FulfilmentStatus(StrEnum):
    """Where the books of an order stand, apart from its payment; the values are stored."""

    AWAITING_PAYMENT = "awaiting_payment"
    AWAITING_PACKING = "awaiting_packing"
    PACKED = "packed"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"

    LABELS = nonmember(
        {
            AWAITING_PAYMENT: "Awaiting payment",
            AWAITING_PACKING: "Awaiting packing",
            PACKED: "Packed",
            SHIPPED: "Shipped",
            DELIVERED: "Delivered",
            CANCELLED: "Cancelled",
        }
    )


class Order(Payable, TimestampMixin, db.Model):
    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint("total_cents >= 0", name="total_not_negative"),
        # A guest order (no account) is reached through its buyer's email; every order has a buyer.
        CheckConstraint("user_id IS NOT NULL OR guest_email IS NOT NULL", name="buyer_known"),
        Index("ix_orders_status", "status"),  # the admin lists orders by status
        # One order per submitted checkout form, even under concurrent resends.
        UniqueConstraint("user_id", "idempotency_key", name="uq_orders_user_idempotency_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # None for a guest order until an account with the verified guest_email claims it
    # (app.orders.guests); guest_email stays as the history of how it was bought.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    total_cents: Mapped[int] = mapped_column(Integer, nullable=False)
    stock_taken: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Set when the books are bought for a club (a wishlist gift, or the owner buying for it):
    # once paid, they land on that club's shelf.
    club_id: Mapped[int | None] = mapped_column(ForeignKey("clubs.id"), index=True)

    # Snapshots taken at checkout (filled by the checkout steps); total = subtotal - discount
    # + shipping + tax, whatever the rates, prices or codes say later.
    subtotal_cents: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    ship_to: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    shipping_method: Mapped[str | None] = mapped_column(String(100))
    shipping_cents: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    tax_cents: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    tax_rate_bp: Mapped[int | None] = mapped_column(Integer)
    tax_label: Mapped[str | None] = mapped_column(String(100))
    prices_include_tax: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    discount_cents: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    discount_code: Mapped[str | None] = mapped_column(String(64))
    guest_email: Mapped[str | None] = mapped_column(String(320))

    # Fulfilment, apart from the payment status: paid orders wait for packing, then ship.
    fulfilment_status: Mapped[str] = mapped_column(
        String(20), default=FulfilmentStatus.AWAITING_PAYMENT, nullable=False, index=True
    )
    carrier: Mapped[str | None] = mapped_column(String(50))
    tracking_number: Mapped[str | None] = mapped_column(String(100))
    tracking_url: Mapped[str | None] = mapped_column(String(1000))

    lines: Mapped[list["OrderLine"]] = relationship(
        back_populates="order", order_by="OrderLine.id", cascade="all, delete-orphan", lazy="raise_on_sql"
    )

    @property
    def is_guest(self) -> bool:
        """Bought without an account and not claimed by one yet."""
        return self.user_id is None

    @property
    def fulfilment_label(self) -> str:
        return FulfilmentStatus.LABELS.get(self.fulfilment_status, self.fulfilment_status)

    @property
    def lines_cents(self) -> int:
        """What the lines add up to before discount, shipping and tax (older orders: the total)."""
        return self.subtotal_cents or self.total_cents


class OrderLine(db.Model):
    __tablename__ = "order_lines"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, index=True)
    book_id: Mapped[int] = mapped_column(ForeignKey("books.id"), nullable=False, index=True)
    # Snapshots: what the buyer saw and paid, whatever the catalogue says later.
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    isbn13: Mapped[str] = mapped_column(String(13), nullable=False)
    unit_price_cents: Mapped[int] = mapped_column(Integer, nullable=False)
    quantity: Mapped[int] = mapped_column(Integer, nullable=False)

    # Copies refunded after shipping (app.orders.shipping.refund_lines); never more than quantity.
    refunded_quantity: Mapped[int] = mapped_column(Integer, default=0, nullable=False)

    order: Mapped[Order] = relationship(back_populates="lines")

    @property
    def total_cents(self) -> int:
        return self.unit_price_cents * self.quantity


class OrderEvent(db.Model):
    """One step in an order's timeline, written once: one-off steps (paid, packed, shipped...)
    have ``ref`` "" so they are unique per order; a step that repeats (a refund of lines) names
    itself in ``ref``."""

    __tablename__ = "order_events"
    __table_args__ = (UniqueConstraint("order_id", "kind", "ref", name="uq_order_events_order_kind_ref"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    # "" for the one-off steps; the refund step's key for repeated refunds.
    ref: Mapped[str] = mapped_column(String(100), default="", nullable=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, nullable=False)


class PaymentEvent(db.Model):
    """One row per gateway event id: a duplicate delivery finds its row and changes nothing."""

    __tablename__ = "payment_events"
    __table_args__ = (UniqueConstraint("gateway", "event_id", name="uq_payment_events_gateway_event"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    gateway: Mapped[str] = mapped_column(String(16), nullable=False)
    event_id: Mapped[str] = mapped_column(String(255), nullable=False)
    type: Mapped[str] = mapped_column(String(64), nullable=False)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    payment_intent_id: Mapped[str | None] = mapped_column(String(255), index=True)
    amount_cents: Mapped[int | None] = mapped_column(Integer)
    # Set once the event has been applied to its order (refunds can arrive before the payment).
    applied: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    # Why an unapplied event waits: a refund before its payment, or a payment that does not match.
    parked_reason: Mapped[str | None] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, nullable=False)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
