"""What a payment reference names (an order or a donation), as the payment code sees it.

A target wraps one payable (a model with the ``Payable`` columns) and applies the gateway's
events to it. The registry maps a reference's kind ("order", "donation") to its target class.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select

from app.extensions import db
from app.models.payable import Payable, PaymentStatus
from app.payments.gateway import LineItem, charged_cents


@dataclass
class Charges:
    """A payment row by row, as a CheckoutRequest carries it: the total is what the card is charged."""

    line_items: list[LineItem]
    shipping: LineItem | None = None
    tax: LineItem | None = None  # tax added on top (None when prices include it)
    discount_cents: int = 0
    discount_label: str | None = None
    included_tax: LineItem | None = None  # tax the prices already contain: shown, not added

    @property
    def total_cents(self) -> int:
        return charged_cents(self.line_items, self.shipping, self.tax, self.discount_cents)


# Things to do once the transaction has committed (send emails, enqueue refunds).
AfterCommit = list[Callable[[], Any]]


class Target(ABC):
    """One order or donation that gateway events apply to."""

    kind = ""

    # Payment events name orders only: anything else leaves their order_id empty.
    order_id: int | None = None

    # The payable model this target wraps (Order, Donation); the constructor takes one of its rows.
    model: type[Payable]

    @abstractmethod
    def __init__(self, payable: Payable): ...

    @classmethod
    def loading(cls, query: Select) -> Select:
        """What to load with the payable (an order's lines); nothing more by default."""
        return query

    @classmethod
    def _locked(cls, condition) -> Target | None:
        """The payable matching ``condition``, row-locked and read afresh (another transaction may
        just have changed it); None when there is none."""
        query = select(cls.model).where(condition).with_for_update().execution_options(populate_existing=True)
        found = db.session.scalar(cls.loading(query))
        return cls(found) if found is not None else None

    @classmethod
    def find(cls, ref_id: int) -> Target | None:
        """The target with this id, locked for update; None when there is none."""
        return cls._locked(cls.model.id == ref_id)

    @classmethod
    def find_by_payment_intent(cls, payment_intent_id: str) -> Target | None:
        """The target paid by this PaymentIntent, locked for update; None when there is none."""
        return cls._locked(cls.model.payment_intent_id == payment_intent_id)

    @classmethod
    def find_by_session(cls, session_id: str) -> Target | None:
        """The target this checkout session pays for (not locked: the payment page only reads it)."""
        found = db.session.scalar(select(cls.model).where(cls.model.checkout_session_id == session_id))
        return cls(found) if found is not None else None

    @property
    @abstractmethod
    def payable(self) -> Payable:
        """The order or donation being paid."""

    @property
    @abstractmethod
    def summary(self) -> dict:
        """reference, title, amount_cents, currency, user_id, endpoint: (name, args) of its page."""

    @abstractmethod
    def paid(self, session: dict, after: AfterCommit) -> str:
        """Apply a payment that landed."""

    @abstractmethod
    def failed(self, session: dict, after: AfterCommit) -> str:
        """Apply a payment that did not go through."""

    @abstractmethod
    def refunded(self, amount_refunded: int, after: AfterCommit, refund_ref: str) -> str:
        """Record the refund up to the cumulative ``amount_refunded``; the new step is keyed by ``refund_ref``."""

    @property
    def payment_intent_id(self) -> str | None:
        return self.payable.payment_intent_id

    @property
    def is_paid(self) -> bool:
        return self.payable.paid_at is not None

    def is_current_session(self, session: dict) -> bool:
        """Events about an older checkout session (a retried payment) do not move the payable."""
        return session.get("id") == self.payable.checkout_session_id

    def processing(self, session: dict) -> str:
        if self.payable.status == PaymentStatus.PENDING and self.is_current_session(session):
            self.payable.status = PaymentStatus.PROCESSING
            return PaymentStatus.PROCESSING
        return "unchanged"

    def is_open_for(self, session: dict) -> bool:
        return self.payable.is_open and self.is_current_session(session)

    def expired(self, session: dict) -> str:
        if not self.is_open_for(session):
            return "unchanged"
        self.payable.status = PaymentStatus.EXPIRED
        return PaymentStatus.EXPIRED

    def charges(self) -> Charges:
        """What the payment is for, row by row (the simulated payment page lists it): one line by default."""
        summary = self.summary
        return Charges(line_items=[LineItem(summary["title"], summary["amount_cents"], 1)])

    def gateway_tax(self, session: dict) -> int:
        """Tax the gateway added on top of what we asked (Stripe Tax), when this target takes it;
        none by default: the amount must be exactly what was asked."""
        return 0

    def mismatch(self, session: dict) -> str | None:
        """Why a paid session does not pay for this (amount or currency), or None when it does."""
        summary = self.summary
        amount, currency = session.get("amount_total"), session.get("currency")
        expected = summary["amount_cents"] + self.gateway_tax(session)
        if amount == expected and str(currency or "").lower() == summary["currency"].lower():
            return None
        return f"paid {amount} {currency}, expected {expected} {summary['currency']}"


def automatic_tax_of(session: dict) -> int:
    """The tax a session with automatic tax added (``total_details.amount_tax``); 0 without it."""
    automatic = session.get("automatic_tax")
    if not (isinstance(automatic, dict) and automatic.get("enabled") is True):
        return 0
    details = session.get("total_details")
    amount = details.get("amount_tax") if isinstance(details, dict) else None
    return amount if isinstance(amount, int) and not isinstance(amount, bool) else 0


TARGETS: dict[str, type[Target]] = {}


def register_target(cls: type[Target]) -> type[Target]:
    TARGETS[cls.kind] = cls  # pragma: no mutate  (runs at import, before mutmut picks a mutant)
    return cls
