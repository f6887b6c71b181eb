"""Money given to clubs, and each club's fund ledger."""

from datetime import datetime
from typing import ClassVar

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import TimestampMixin, UTCDateTime, utcnow
from app.models.payable import Payable, PaymentStatus

# Orders and donations share one set of statuses (app.models.payable).
DonationStatus = PaymentStatus


class Donation(Payable, TimestampMixin, db.Model):
    __tablename__ = "donations"
    __table_args__ = (
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        Index("ix_donations_club_status", "club_id", "status"),
        # Contest scoring reads received money by time: this partial index holds every column it
        # needs (an index-only scan of the window, never the wide rows). The statuses are
        # app.contests.scoring.RECEIVED; migration scoring_f3a9c6e1d2b7 builds it.
        Index(
            "ix_donations_received",
            "paid_at",
            "club_id",
            "user_id",
            "amount_cents",
            "refunded_cents",
            postgresql_where=text("status IN ('paid', 'refunded')"),
            sqlite_where=text("status IN ('paid', 'refunded')"),
        ),
        # One donation per submitted form (or API Idempotency-Key), even under concurrent resends.
        UniqueConstraint("user_id", "idempotency_key", name="uq_donations_user_idempotency_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    club_id: Mapped[int] = mapped_column(ForeignKey("clubs.id"), nullable=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    amount_cents: Mapped[int] = mapped_column(Integer, nullable=False)
    message: Mapped[str] = mapped_column(String(500), default="", nullable=False)
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)

    # Money given to a club is "received" rather than "paid".
    status_labels: ClassVar[dict[str, str]] = {**PaymentStatus.LABELS, PaymentStatus.PAID: "Received"}


class FundEntry(db.Model):
    """One line of a club's fund: credits positive, debits negative; the balance is their sum.

    The unique keys make each donation credit and each purchase debit happen once, and each refund
    step (a reversal of a donation, a refund of a fund purchase) once per ``refund_ref``: the
    gateway event or refund request that moved the refunded amount.
    """

    __tablename__ = "fund_entries"
    __table_args__ = (
        UniqueConstraint("kind", "donation_id", "refund_ref", name="uq_fund_entries_kind_donation_ref"),
        UniqueConstraint("kind", "order_id", "refund_ref", name="uq_fund_entries_kind_order_ref"),
        CheckConstraint("amount_cents <> 0", name="amount_not_zero"),
        Index("ix_fund_entries_club_created", "club_id", "created_at"),
    )

    DONATION = "donation"  # + money given
    REVERSAL = "reversal"  # - a refunded donation
    PURCHASE = "purchase"  # - books bought from the fund
    PURCHASE_REFUND = "purchase_refund"  # + a fund purchase that could not be fulfilled

    id: Mapped[int] = mapped_column(primary_key=True)
    club_id: Mapped[int] = mapped_column(ForeignKey("clubs.id"), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    amount_cents: Mapped[int] = mapped_column(Integer, nullable=False)
    balance_after_cents: Mapped[int] = mapped_column(Integer, nullable=False)
    donation_id: Mapped[int | None] = mapped_column(ForeignKey("donations.id"))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    # "" for credits and purchases; the refund step's event or request id for reversals and refunds.
    refund_ref: Mapped[str] = mapped_column(String(255), default="", server_default="", nullable=False)
    description: Mapped[str] = mapped_column(String(300), default="", nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
