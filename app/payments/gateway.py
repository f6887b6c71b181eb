"""The payment gateway interface and the choice of adapter.

Orders and donations talk to a gateway only through this interface. Stripe is used
when ``STRIPE_SECRET_KEY`` is set; otherwise the simulated gateway serves a local payment page.
Either way, payment results arrive as events handled by ``app.payments.fulfilment``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from flask import current_app


class GatewayError(Exception):
    """The gateway could not be reached or refused the call; safe to retry with the same key."""


class PaymentsUnavailable(GatewayError):
    """The gateway's circuit breaker is open: it failed repeatedly, so it was not even called.
    Whatever the reader was paying for stays saved, to be paid once ``retry_after`` seconds pass."""

    def __init__(self, retry_after: int):
        super().__init__(f"payments are unavailable for about {retry_after} s (circuit breaker open)")
        self.retry_after = retry_after


class WebhookError(Exception):
    """A webhook that is not authentic (bad or stale signature, unreadable body)."""


@dataclass
class LineItem:
    name: str
    unit_amount_cents: int
    quantity: int


def charged_cents(
    line_items: list[LineItem], shipping: LineItem | None, tax: LineItem | None, discount_cents: int
) -> int:
    """Lines + shipping + tax - discount, never below zero."""
    rows = [*line_items, *(extra for extra in (shipping, tax) if extra is not None)]
    return max(sum(row.unit_amount_cents * row.quantity for row in rows) - discount_cents, 0)


@dataclass
class CheckoutRequest:
    reference: str  # our id for what is paid (e.g. "order:12"), echoed back in events
    line_items: list[LineItem]
    customer_email: str
    success_url: str  # may contain {CHECKOUT_SESSION_ID}
    cancel_url: str
    idempotency_key: str
    currency: str = "usd"
    metadata: dict[str, str] = field(default_factory=dict)
    # e.g. "Shipping: Standard (3-5 working days)", unit_amount_cents, quantity 1
    shipping: LineItem | None = None
    # e.g. "Tax: VAT 5.5%"; None when zero or when automatic_tax (the gateway computes it)
    tax: LineItem | None = None
    discount_cents: int = 0
    discount_label: str | None = None  # e.g. "WELCOME10"
    automatic_tax: bool = False

    @property
    def total_cents(self) -> int:
        """What the card is charged before any gateway-computed tax: lines + shipping + tax - discount."""
        return charged_cents(self.line_items, self.shipping, self.tax, self.discount_cents)


@dataclass
class CheckoutSession:
    id: str
    url: str


class Gateway(Protocol):
    name: str

    def create_checkout(self, request: CheckoutRequest) -> CheckoutSession: ...

    def refund(self, payment_intent_id: str, amount_cents: int, idempotency_key: str) -> str: ...

    def expire(self, session_id: str) -> None:
        """Close an open checkout session so it can no longer be paid. Raises GatewayError."""
        ...


def gateway_computes_tax() -> bool:
    """True when the gateway adds the tax itself (Stripe with ``STRIPE_AUTOMATIC_TAX``): a checkout
    then sends ``automatic_tax=True`` and no ``tax`` line. The simulated gateway never does."""
    return bool(current_app.config.get("STRIPE_SECRET_KEY") and current_app.config.get("STRIPE_AUTOMATIC_TAX"))


def get_gateway() -> Gateway:
    """The configured adapter: Stripe with a secret key, the simulated gateway without."""
    if current_app.config.get("STRIPE_SECRET_KEY"):
        from app.breakers import breakers
        from app.payments.stripe_gateway import StripeGateway

        return StripeGateway.from_config(current_app.config, breaker=breakers().get("payments"))
    from app.payments.simulated import SimulatedGateway

    return SimulatedGateway()
