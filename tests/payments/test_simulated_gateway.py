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
from tests.helpers import login_as, make_user
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


def test_the_payment_page_of_an_unknown_or_someone_elses_session_is_not_found(app, client):
    with app.app_context():
        club = open_club()
        donor = make_user(email="donor@example.com", name="Dora Donor")
        make_user(email="other@example.com", name="Otto Other")
        session_id = pending_donation(club, donor, 2000).checkout_session_id
    assert login_as(client, email="other@example.com").status_code in (302, 303)

    assert client.get("/payments/simulated/cs_sim_000000000000000000000000").status_code == 404
    assert client.get(f"/payments/simulated/{session_id}").status_code == 404

    donor_client = app.test_client()
    assert login_as(donor_client, email="donor@example.com").status_code in (302, 303)
    page = donor_client.get(f"/payments/simulated/{session_id}")
    assert page.status_code == 200 and "20.00" in page.get_data(as_text=True)
