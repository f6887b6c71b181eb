"""What orders and donations share: the payment statuses and the checkout columns."""

from datetime import datetime
from enum import StrEnum, nonmember
from typing import ClassVar

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import UTCDateTime


class PaymentStatus(StrEnum):
    """Where a payable stands; the values are what the database stores."""

    PENDING = "pending"  # created, waiting for the payer
    PROCESSING = "processing"  # paid by a slow method; waiting for the gateway to confirm
    PAID = "paid"
    FAILED = "failed"
    EXPIRED = "expired"
    REFUND_DUE = "refund_due"  # paid, but it cannot be kept (sold out, club closed): money goes back
    REFUNDED = "refunded"

    # Plain values (not members): the statuses a payment can still move from.
    OPEN = nonmember((PENDING, PROCESSING))
    # What a page says for each status; a payable may say some differently (Payable.status_labels).
    LABELS = nonmember(
        {
            PENDING: "Waiting for payment",
            PROCESSING: "Payment processing",
            PAID: "Paid",
            FAILED: "Payment failed",
            EXPIRED: "Checkout expired",
            REFUND_DUE: "Refund on its way",
            REFUNDED: "Refunded",
        }
    )


class Payable:
    """The columns the checkout and the payment events use, for a model paid through the gateway."""

    status_labels: ClassVar[dict[str, str]] = PaymentStatus.LABELS

    status: Mapped[str] = mapped_column(String(16), default=PaymentStatus.PENDING, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), default="usd", nullable=False)
    gateway: Mapped[str] = mapped_column(String(16), nullable=False)
    checkout_attempt: Mapped[int] = mapped_column(Integer, default=1, nullable=False)
    checkout_session_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    checkout_url: Mapped[str | None] = mapped_column(String(1000))
    payment_intent_id: Mapped[str | None] = mapped_column(String(255), index=True)
    refunded_cents: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    idempotency_key: Mapped[str | None] = mapped_column(String(64))

    @property
    def status_label(self) -> str:
        return self.status_labels.get(self.status, self.status)

    @property
    def is_open(self) -> bool:
        return self.status in PaymentStatus.OPEN
