"""Donations paid with Stripe: the same signed webhook twice credits once; a refund reverses once.

Checkout runs against a local stub of the Stripe API (pytest-httpserver); webhook payloads are
signed with stripe-python's own helper and verified by the app exactly as in production.
"""

from __future__ import annotations

import json
import time

import pytest
import stripe

from app import create_app
from app.models import DonationStatus, EmailMessage, FundEntry, PaymentEvent
from tests.conftest import make_config
from tests.donations import CLUB_NAME, OWNER, balance, count, fund_entries, give, latest_donation, open_club, reader

WEBHOOK_SECRET = "whsec_donations"
DONOR = "donor@example.com"
SESSION_ID = "cs_test_donation"
CHECKOUT_URL = "https://checkout.stripe.test/c/cs_test_donation"
PAYMENT_INTENT = "pi_donation"


@pytest.fixture
def stripe_app(app, base_settings, httpserver):
    """An app that takes payments with Stripe (the stub), on the same database as ``app``."""
    return create_app(
        make_config(
            **{
                **base_settings,
                "STRIPE_SECRET_KEY": "sk_test_donations",
                "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
                "STRIPE_API_BASE": httpserver.url_for("").rstrip("/"),
                "STRIPE_MAX_RETRIES": 0,
            }
        )
    )


@pytest.fixture
def donation(stripe_app, httpserver):
    """A reader gives $35 to the club and is sent to Stripe's checkout page."""
    httpserver.expect_request("/v1/checkout/sessions", method="POST").respond_with_json(
        {"id": SESSION_ID, "object": "checkout.session", "url": CHECKOUT_URL, "status": "open", "livemode": False}
    )
    slug = open_club(stripe_app)
    donor = reader(stripe_app, DONOR, "Dan Donor")
    response = give(donor, slug, "35", message="Keep reading")
    assert response.status_code == 303 and response.headers["Location"] == CHECKOUT_URL
    found = latest_donation(stripe_app)
    assert (found.gateway, found.checkout_session_id) == ("stripe", SESSION_ID)
    return slug, found


def event(event_id: str, event_type: str, obj: dict) -> dict:
    return {
        "id": event_id,
        "object": "event",
        "api_version": "2026-10-28.clover",
        "created": int(time.time()),
        "livemode": False,
        "type": event_type,
        "data": {"object": obj},
    }


def completed(donation) -> dict:
    return event(
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
    return event(
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


def deliver(client, payload: dict):
    body = json.dumps(payload)
    signature = stripe.WebhookSignature.generate_signature_header(body, WEBHOOK_SECRET, timestamp=int(time.time()))
    return client.post(
        "/payments/stripe/webhook",
        data=body.encode(),
        content_type="application/json",
        headers={"Stripe-Signature": signature},
    )


def emails(stripe_app, template: str) -> int:
    return count(stripe_app, EmailMessage.id, EmailMessage.template == template)


def test_the_same_webhook_twice_credits_once_and_emails_once(stripe_app, donation, inbox):
    slug, found = donation
    webhook = stripe_app.test_client()

    first = deliver(webhook, completed(found))
    second = deliver(webhook, completed(found))

    assert first.status_code == 200 and first.json["status"] == "donation paid"
    assert second.status_code == 200 and second.json["status"] == "duplicate"
    assert latest_donation(stripe_app).status == DonationStatus.PAID
    assert fund_entries(stripe_app, slug) == [(FundEntry.DONATION, 3500, 3500)]
    assert count(stripe_app, PaymentEvent.id) == 1
    [receipt] = inbox.wait_for(DONOR)
    [notice] = inbox.wait_for(OWNER)
    assert receipt["Subject"] == f"Thank you for your donation to {CLUB_NAME}"
    assert notice["Subject"] == f"{CLUB_NAME} received a donation"
    assert emails(stripe_app, "donation_receipt") == emails(stripe_app, "donation_notice") == 1

    # Stripe also reports success under another event id: still one credit, one of each email.
    again = completed(found)
    again["id"], again["type"] = "evt_donation_async", "checkout.session.async_payment_succeeded"
    assert deliver(webhook, again).json["status"] == "already paid"
    assert balance(stripe_app, slug) == 3500
    assert len(inbox.to(DONOR)) == 1 and len(inbox.to(OWNER)) == 1


def test_a_refund_reverses_the_credit_once(stripe_app, donation, inbox):
    slug, found = donation
    webhook = stripe_app.test_client()
    deliver(webhook, completed(found))

    first = deliver(webhook, refunded(found))
    second = deliver(webhook, refunded(found))
    resent = refunded(found)
    resent["id"] = "evt_donation_refunded_again"
    third = deliver(webhook, resent)

    assert first.json["status"] == "donation refunded"
    assert second.json["status"] == "duplicate"
    assert third.json["status"] == "refund already recorded"
    assert fund_entries(stripe_app, slug) == [(FundEntry.DONATION, 3500, 3500), (FundEntry.REVERSAL, -3500, 0)]
    donation_now = latest_donation(stripe_app)
    assert (donation_now.status, donation_now.refunded_cents) == (DonationStatus.REFUNDED, 3500)
    refund_mails = [m for m in inbox.wait_for(DONOR, 2) if "refunded" in m["Subject"]]
    assert [m["Subject"] for m in refund_mails] == [f"Your donation to {CLUB_NAME} was refunded"]
    assert emails(stripe_app, "donation_refunded") == 1


def test_a_refund_that_arrives_before_the_payment_waits_for_it(stripe_app, donation, inbox):
    slug, found = donation
    webhook = stripe_app.test_client()
    assert deliver(webhook, refunded(found)).json["status"] == "parked"
    assert deliver(webhook, completed(found)).json["status"] == "donation paid; donation refunded"
    assert balance(stripe_app, slug) == 0
    assert [kind for kind, _, _ in fund_entries(stripe_app, slug)] == [FundEntry.DONATION, FundEntry.REVERSAL]


def test_a_webhook_with_a_bad_signature_changes_nothing(stripe_app, donation):
    slug, found = donation
    body = json.dumps(completed(found))
    forged = stripe.WebhookSignature.generate_signature_header(body, "whsec_wrong", timestamp=int(time.time()))
    response = stripe_app.test_client().post(
        "/payments/stripe/webhook", data=body, content_type="application/json", headers={"Stripe-Signature": forged}
    )
    assert response.status_code == 400
    assert balance(stripe_app, slug) == 0
