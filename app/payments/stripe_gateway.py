"""The Stripe adapter (stripe-python 16, ``StripeClient``)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

import pybreaker
import stripe

from app.breakers import BreakerOpen, breakers
from app.payments.gateway import (
    CheckoutRequest,
    CheckoutSession,
    GatewayError,
    LineItem,
    PaymentsUnavailable,
    WebhookError,
)

T = TypeVar("T")

log = logging.getLogger(__name__)


def _refused(exc: stripe.StripeError, what: str = "Stripe refused or did not answer") -> GatewayError:
    """The error callers handle (readers are told to try again), logged with Stripe's status and code."""
    error = GatewayError(f"{what}: {type(exc).__name__}")
    log.warning("%s (HTTP %s, code %s, request %s)", error, exc.http_status, exc.code, exc.request_id)
    return error


def _line(item: LineItem, currency: str) -> dict:
    return {
        "quantity": item.quantity,
        "price_data": {
            "currency": currency,
            "unit_amount": item.unit_amount_cents,
            "product_data": {"name": item.name[:250]},
        },
    }


def _shipping_option(shipping: LineItem, currency: str) -> dict:
    return {
        "shipping_rate_data": {
            "type": "fixed_amount",
            "fixed_amount": {"amount": shipping.unit_amount_cents * shipping.quantity, "currency": currency},
            "display_name": shipping.name[:100],
        }
    }


class StripeGateway:
    name = "stripe"

    def __init__(
        self,
        secret_key: str,
        webhook_secret: str | None,
        api_base: str | None = None,
        retries: int = 2,
        timeout: float = 10.0,
        breaker: pybreaker.CircuitBreaker | None = None,
    ):
        # A web worker must not wait Stripe's default 80 s: fail fast, the reader can retry.
        options = {"max_network_retries": retries, "http_client": stripe.RequestsClient(timeout=timeout)}
        if api_base:
            options["base_addresses"] = {"api": api_base}
        self.client = stripe.StripeClient(secret_key, **options)
        self.webhook_secret = webhook_secret
        self.breaker = breaker  # the app's "payments" breaker (get_gateway); None: calls go straight out

    @classmethod
    def from_config(cls, config, breaker: pybreaker.CircuitBreaker | None = None) -> StripeGateway:
        return cls(
            config["STRIPE_SECRET_KEY"],
            config.get("STRIPE_WEBHOOK_SECRET"),
            api_base=config.get("STRIPE_API_BASE"),
            retries=config.get("STRIPE_MAX_RETRIES", 2),
            timeout=config.get("STRIPE_TIMEOUT_SECONDS", 10.0),
            breaker=breaker,
        )

    def _call(self, func: Callable[..., T], *args) -> T:
        """A call to Stripe through the "payments" circuit breaker: ``PaymentsUnavailable`` at once
        while it is open, else the call (its failures and timeouts count towards opening it)."""
        if self.breaker is None:
            return func(*args)
        try:
            return self.breaker.call(func, *args)
        except BreakerOpen:
            raise PaymentsUnavailable(breakers().seconds_left("payments")) from None

    def create_checkout(self, request: CheckoutRequest) -> CheckoutSession:
        """A Checkout Session priced on the server; the key makes a retry return the same session.

        Shipping is a fixed-amount shipping option, our tax an extra line, a discount a one-off
        coupon created first under the key plus ":coupon" (a retry gets the same coupon back).
        With ``automatic_tax`` Stripe computes the tax and there is no tax line.
        """
        metadata = {"reference": request.reference, **request.metadata}
        lines = [*request.line_items, *([request.tax] if request.tax and not request.automatic_tax else [])]
        params = {
            "mode": "payment",
            "client_reference_id": request.reference,
            "customer_email": request.customer_email,
            "success_url": request.success_url,
            "cancel_url": request.cancel_url,
            "metadata": metadata,
            # Session metadata is not copied to the PaymentIntent; refunds and charges need it too.
            "payment_intent_data": {"metadata": metadata},
            "line_items": [_line(item, request.currency) for item in lines],
        }
        if request.shipping is not None:
            params["shipping_options"] = [_shipping_option(request.shipping, request.currency)]
        if request.automatic_tax:
            params["automatic_tax"] = {"enabled": True}
        try:
            if request.discount_cents > 0:
                params["discounts"] = [{"coupon": self._coupon(request)}]
            session = self._call(
                self.client.v1.checkout.sessions.create, params, {"idempotency_key": request.idempotency_key}
            )
        except stripe.StripeError as exc:
            raise _refused(exc) from exc
        return CheckoutSession(id=session.id, url=session.url)

    def _coupon(self, request: CheckoutRequest) -> str:
        """A coupon taking ``discount_cents`` off once, for this checkout attempt only."""
        coupon_params = {"amount_off": request.discount_cents, "currency": request.currency, "duration": "once"}
        if request.discount_label:
            coupon_params["name"] = request.discount_label[:40]  # Stripe shows at most 40 characters
        coupon = self._call(
            self.client.v1.coupons.create, coupon_params, {"idempotency_key": request.idempotency_key + ":coupon"}
        )
        return coupon.id

    def refund(self, payment_intent_id: str, amount_cents: int, idempotency_key: str) -> str:
        try:
            refund = self._call(
                self.client.v1.refunds.create,
                {"payment_intent": payment_intent_id, "amount": amount_cents},
                {"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as exc:
            raise _refused(exc) from exc
        return refund.id

    def expire(self, session_id: str) -> None:
        """Expire an open Checkout Session: nobody can pay it any more (Stripe sends ``.expired``)."""
        try:
            self._call(self.client.v1.checkout.sessions.expire, session_id)
        except stripe.InvalidRequestError as exc:
            # Already complete or expired: nothing left to close (a payment that landed is refunded).
            if exc.http_status != 400:
                raise _refused(exc, "Stripe refused to expire the session") from exc
        except stripe.StripeError as exc:
            raise _refused(exc) from exc

    def parse_webhook(self, payload: bytes, signature: str | None) -> dict:
        """Verify the ``Stripe-Signature`` header over the raw body and return the event as a dict."""
        if not self.webhook_secret:
            raise WebhookError("STRIPE_WEBHOOK_SECRET is not set")
        if not signature:
            raise WebhookError("missing Stripe-Signature header")
        try:
            event = stripe.Webhook.construct_event(payload, signature, self.webhook_secret)
        except stripe.SignatureVerificationError as exc:
            raise WebhookError("signature verification failed") from exc
        except ValueError as exc:
            raise WebhookError("the body is not a Stripe event") from exc
        return event.to_dict()
