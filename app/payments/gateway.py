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


class WebhookError(Exception):
    """A webhook that is not authentic (bad or stale signature, unreadable body)."""


@dataclass
class LineItem:
    name: str
    unit_amount_cents: int
    quantity: int


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


def get_gateway() -> Gateway:
    """The configured adapter: Stripe with a secret key, the simulated gateway without."""
    if current_app.config.get("STRIPE_SECRET_KEY"):
        from app.payments.stripe_gateway import StripeGateway

        return StripeGateway.from_config(current_app.config)
    from app.payments.simulated import SimulatedGateway

    return SimulatedGateway()
