"""The simulated gateway: the embedded default's local payment page.

Its Pay and Decline buttons produce the same events Stripe would send, handled by the same
fulfilment code as the Stripe webhook.
"""

from __future__ import annotations

import hashlib
import uuid

from flask import url_for

from app.payments.gateway import CheckoutRequest, CheckoutSession
from app.payments.target import Charges


def session_id_for(idempotency_key: str) -> str:
    # Deterministic, like Stripe's idempotency: the same key gives the same session.
    return "cs_sim_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:24]


def _refunded_so_far(gateway: str, payment_intent_id: str, except_event: str) -> int:
    """The largest cumulative refund the gateway reported for this payment (a retried step excluded)."""
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import PaymentEvent

    return db.session.scalar(
        select(func.coalesce(func.max(PaymentEvent.amount_cents), 0)).where(
            PaymentEvent.gateway == gateway,
            PaymentEvent.payment_intent_id == payment_intent_id,
            PaymentEvent.type == "charge.refunded",
            PaymentEvent.event_id != except_event,
        )
    )


class SimulatedGateway:
    name = "simulated"

    def create_checkout(self, request: CheckoutRequest) -> CheckoutSession:
        session_id = session_id_for(request.idempotency_key)
        return CheckoutSession(id=session_id, url=url_for("payments.simulated_page", session_id=session_id))

    def refund(self, payment_intent_id: str, amount_cents: int, idempotency_key: str) -> str:
        from app.payments.fulfilment import handle_event

        refund_id = "re_sim_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:24]
        event_id = "evt_sim_" + hashlib.sha256(("refund" + idempotency_key).encode()).hexdigest()[:24]
        # As Stripe: the event carries the amount refunded so far, this step included.
        refunded_before = _refunded_so_far(self.name, payment_intent_id, event_id)
        handle_event(
            self.name,
            {
                "id": event_id,
                "type": "charge.refunded",
                "data": {
                    "object": {
                        "object": "charge",
                        "id": "ch_sim_" + payment_intent_id,
                        "payment_intent": payment_intent_id,
                        "amount_refunded": refunded_before + amount_cents,
                        "refunds": {"data": [{"id": refund_id, "amount": amount_cents}]},
                    }
                },
            },
        )
        return refund_id

    def expire(self, session_id: str) -> None:
        """Close the local payment page, as Stripe's expire does (with the event Stripe sends)."""
        from app.payments.fulfilment import handle_event, target_for_session

        target = target_for_session(session_id)
        if target is None:
            return
        event = simulated_event("checkout.session.expired", session_id, target.summary["reference"], 0, False)
        handle_event(self.name, event)


def simulated_event(
    event_type: str,
    session_id: str,
    reference: str,
    amount_cents: int,
    paid: bool,
    currency: str = "usd",
    charges: Charges | None = None,
) -> dict:
    """The event Stripe would send for a Checkout Session, with a fresh event id.

    With ``charges`` (what the payment page listed), the session carries Stripe's
    ``total_details``: the discount, shipping and tax inside ``amount_total``.
    """
    session = {
        "object": "checkout.session",
        "id": session_id,
        "client_reference_id": reference,
        "metadata": {"reference": reference},
        "payment_status": "paid" if paid else "unpaid",
        "payment_intent": f"pi_sim_{session_id[7:]}",
        "amount_total": amount_cents,
        "currency": currency,
    }
    if charges is not None:
        session["total_details"] = total_details(charges)
    return {"id": f"evt_sim_{uuid.uuid4().hex[:24]}", "type": event_type, "data": {"object": session}}


def total_details(charges: Charges) -> dict:
    """Stripe's ``total_details`` of a session: what the total contains besides the lines."""
    tax = charges.tax or charges.included_tax
    return {
        "amount_discount": charges.discount_cents,
        "amount_shipping": charges.shipping.unit_amount_cents * charges.shipping.quantity if charges.shipping else 0,
        "amount_tax": tax.unit_amount_cents * tax.quantity if tax else 0,
    }
