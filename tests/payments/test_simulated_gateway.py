"""The simulated gateway (the embedded default) refunds through the same events Stripe sends.

What an operator reads in ``payment_events`` has Stripe's shape, and a refund retried with the same
key is the same refund: one event, one ledger reversal.
"""

from __future__ import annotations

import re

from sqlalchemy import select

from app.extensions import db
from app.models import Donation, DonationStatus, FundEntry, PaymentEvent, User
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
        other = gateway.refund(payment_intent, 1500, "refund-donation-1-b")  # the rest

        assert first == again != other
        assert re.fullmatch(r"re_sim_[0-9a-f]{24}", first)
        events = db.session.scalars(
            select(PaymentEvent).where(PaymentEvent.type == "charge.refunded").order_by(PaymentEvent.id)
        ).all()
        assert len(events) == 2  # the retry was the same event: stored once
        # As Stripe's: amount_refunded is the sum so far; each refund names its own step.
        for event, refund_id, step, amount in zip(events, (first, other), (500, 1500), (500, 2000), strict=True):
            assert re.fullmatch(r"evt_sim_[0-9a-f]{24}", event.event_id)
            assert event.gateway == "simulated"
            assert event.payment_intent_id == payment_intent
            assert event.amount_cents == amount
            charge = event.payload["data"]["object"]
            assert charge["object"] == "charge"
            assert charge["id"] == "ch_sim_" + payment_intent
            assert charge["amount_refunded"] == amount
            assert charge["refunds"]["data"] == [{"id": refund_id, "amount": step}]
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


def test_the_payment_page_sends_the_events_stripe_would_send(app, inbox):
    with app.app_context():
        club = open_club()
        make_user(email="donor@example.com", name="Dora Donor")
        donor = db.session.scalar(select(User).where(User.email == "donor@example.com"))
        declined = pending_donation(club, donor, 2000)
        paid = pending_donation(club, donor, 3500)
        sessions = {"declined": declined.checkout_session_id, "paid": paid.checkout_session_id}
        references = {"declined": f"donation:{declined.id}", "paid": f"donation:{paid.id}"}
    client = app.test_client()
    assert login_as(client, email="donor@example.com").status_code in (302, 303)

    for action, name in (("decline", "declined"), ("pay", "paid")):
        url = f"/payments/simulated/{sessions[name]}"
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', client.get(url).get_data(as_text=True))
        data = {"action": action, **({"csrf_token": token[1]} if token else {})}
        assert client.post(url, data=data).status_code == 303

    with app.app_context():
        events = db.session.scalars(select(PaymentEvent).order_by(PaymentEvent.id)).all()
        assert [e.type for e in events] == ["checkout.session.async_payment_failed", "checkout.session.completed"]
        for event, name, amount in zip(events, ("declined", "paid"), (2000, 3500), strict=True):
            assert re.fullmatch(r"evt_sim_[0-9a-f]{24}", event.event_id)
            assert event.payload["data"]["object"] == {
                "object": "checkout.session",
                "id": sessions[name],
                "client_reference_id": references[name],
                "metadata": {"reference": references[name]},
                "payment_status": "paid" if name == "paid" else "unpaid",
                "payment_intent": "pi_sim_" + sessions[name][len("cs_sim_") :],
                "amount_total": amount,
                "currency": "usd",
                "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
            }
        statuses = db.session.scalars(select(Donation.status).order_by(Donation.id)).all()
        assert statuses == [DonationStatus.FAILED, DonationStatus.PAID]


def test_with_stripe_configured_there_is_no_simulated_payment_page(app, stripe_app):
    with stripe_app.app_context():
        make_user(email="donor@example.com", name="Dora Donor")
    client = stripe_app.test_client()
    assert login_as(client, email="donor@example.com").status_code in (302, 303)
    with app.app_context():
        club = open_club()
        donor = db.session.scalar(select(User).where(User.email == "donor@example.com"))
        session_id = pending_donation(club, donor, 2000).checkout_session_id  # made by the simulated gateway

    for method in (client.get, client.post):
        assert method(f"/payments/simulated/{session_id}").status_code == 404
