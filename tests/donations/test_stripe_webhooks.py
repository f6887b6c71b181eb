"""Donations paid with Stripe: the same signed webhook twice credits once; a refund reverses once.

Checkout runs against a local stub of the Stripe API (pytest-httpserver); webhook payloads are
signed with stripe-python's own helper (tests/payments/webhooks.py) and verified by the app exactly
as in production.
"""

from __future__ import annotations

from app.models import DonationStatus, EmailMessage, FundEntry, PaymentEvent
from tests.donations import CLUB_NAME, OWNER, balance, count, fund_entries, latest_donation
from tests.donations.stripe_events import DONOR, completed, refunded
from tests.payments.webhooks import deliver


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
    response = deliver(stripe_app.test_client(), completed(found), secret="whsec_wrong")
    assert response.status_code == 400
    assert balance(stripe_app, slug) == 0
