"""Stripe's events about a donation: paid, refunded (whole or a cumulative part).

Posted with tests.payments.webhooks.deliver; the ``donation`` fixture (tests/donations/conftest.py)
makes the donation they are about.
"""

from __future__ import annotations

from tests.payments.webhooks import stripe_event

DONOR = "donor@example.com"
SESSION_ID = "cs_test_donation"
CHECKOUT_URL = "https://checkout.stripe.test/c/cs_test_donation"
PAYMENT_INTENT = "pi_donation"


def completed(donation) -> dict:
    return stripe_event(
        "evt_donation_paid",
        "checkout.session.completed",
        {
            "id": SESSION_ID,
            "object": "checkout.session",
            "status": "complete",
            "payment_status": "paid",
            "client_reference_id": f"donation:{donation.id}",
            "metadata": {"reference": f"donation:{donation.id}", "donation_id": str(donation.id)},
            "payment_intent": PAYMENT_INTENT,
            "amount_total": donation.amount_cents,
            "currency": "usd",
        },
    )


def refunded(donation) -> dict:
    return stripe_event(
        "evt_donation_refunded",
        "charge.refunded",
        {
            "id": "ch_donation",
            "object": "charge",
            "payment_intent": PAYMENT_INTENT,
            "amount": donation.amount_cents,
            "amount_refunded": donation.amount_cents,
            "refunded": True,
        },
    )


def refund_event(found, event_id: str, cumulative: int) -> dict:
    payload = refunded(found)
    payload["id"] = event_id
    payload["data"]["object"]["amount_refunded"] = cumulative
    payload["data"]["object"]["refunded"] = cumulative == found.amount_cents
    return payload
