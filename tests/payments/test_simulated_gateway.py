"""The simulated gateway (the embedded default) refunds through the same events Stripe sends.

What an operator reads in ``payment_events`` has Stripe's shape, and a refund retried with the same
key is the same refund: one event, one ledger reversal.
"""

from __future__ import annotations

import re

from sqlalchemy import select

from app.extensions import db
from app.models import FundEntry, PaymentEvent
from app.payments.gateway import get_gateway
from tests.helpers import make_user
from tests.payments.money import open_club, pay, payment_intent_of, pending_donation, reversed_cents


def test_a_simulated_refund_is_a_stripe_shaped_charge_refunded_event_once_per_key(app):
    with app.app_context():
        club = open_club()
        donor = make_user(email="donor@example.com", name="Dora Donor")
        donation = pending_donation(club, donor, 2000)
        assert pay(donation) == "donation paid"
        payment_intent = payment_intent_of(donation)
        gateway = get_gateway()
        assert gateway.name == "simulated"

        first = gateway.refund(payment_intent, 500, "refund-donation-1-a")
        again = gateway.refund(payment_intent, 500, "refund-donation-1-a")  # a retried job
        other = gateway.refund(payment_intent, 2000, "refund-donation-1-b")

        assert first == again != other
        assert re.fullmatch(r"re_sim_[0-9a-f]{24}", first)
        events = db.session.scalars(
            select(PaymentEvent).where(PaymentEvent.type == "charge.refunded").order_by(PaymentEvent.id)
        ).all()
        assert len(events) == 2  # the retry was the same event: stored once
        for event, refund_id, amount in zip(events, (first, other), (500, 2000), strict=True):
            assert re.fullmatch(r"evt_sim_[0-9a-f]{24}", event.event_id)
            assert event.gateway == "simulated"
            assert event.payment_intent_id == payment_intent
            assert event.amount_cents == amount
            charge = event.payload["data"]["object"]
            assert charge["object"] == "charge"
            assert charge["id"] == "ch_sim_" + payment_intent
            assert charge["amount_refunded"] == amount
            assert charge["refunds"]["data"] == [{"id": refund_id, "amount": amount}]
        assert reversed_cents(donation.id) == 2000
        reversals = db.session.scalars(
            select(FundEntry.refund_ref).where(FundEntry.kind == FundEntry.REVERSAL).order_by(FundEntry.id)
        ).all()
        assert reversals == [event.event_id for event in events]  # one ledger line per refund step
