"""The refund job of a refused donation asks Stripe only for what is still due, and only for a
donation that is due one; the webhook answers a failed payment with what it did.

Found by mutation testing (issue 10): each test fails if the job adds what was refunded instead
of subtracting it, refunds a donation the club accepted, stops one cent early, or the webhook's
answer for a failed payment changes.
"""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest

from app.clubs.services import close_club
from app.donations.target import refund_donation
from app.models import DonationStatus
from tests.donations import club_named, latest_donation
from tests.donations.stripe_events import PAYMENT_INTENT, SESSION_ID, completed, refund_event
from tests.payments.webhooks import deliver, stripe_event


def refund_requests(httpserver) -> list[dict]:
    return [parse_qs(r.get_data(as_text=True)) for r, _ in httpserver.log if r.path == "/v1/refunds"]


def refused_with_refund_pending(stripe_app, httpserver, donation) -> int:
    """The club closes as the donor pays; Stripe refuses the first refund (the job will retry)."""
    slug, found = donation
    httpserver.expect_request(f"/v1/checkout/sessions/{SESSION_ID}/expire", method="POST").respond_with_json(
        {"error": {"type": "invalid_request_error", "message": "Only open sessions can be expired."}}, status=400
    )
    httpserver.expect_oneshot_request("/v1/refunds", method="POST").respond_with_json(
        {"error": {"type": "api_error", "message": "Try again later."}}, status=500
    )
    with stripe_app.app_context():
        close_club(club_named(slug))
    webhook = stripe_app.test_client()
    assert "refund due" in deliver(webhook, completed(found)).json["status"]
    assert latest_donation(stripe_app).status == DonationStatus.REFUND_DUE
    return found.id


@pytest.mark.parametrize(
    ("refunded_by_hand", "still_due"),
    [(1000, 2500), (3499, 1)],  # the support team refunded part of the $35 by hand on Stripe
    ids=["the rest", "a last cent"],
)
def test_the_donation_refund_job_asks_only_for_what_is_still_due(
    stripe_app, donation, httpserver, refunded_by_hand, still_due
):
    _, found = donation
    donation_id = refused_with_refund_pending(stripe_app, httpserver, donation)
    webhook = stripe_app.test_client()
    assert deliver(webhook, refund_event(found, "evt_hand_refund", refunded_by_hand)).json["status"] == (
        "donation refunded"
    )
    httpserver.expect_request("/v1/refunds", method="POST").respond_with_json(
        {"id": "re_rest", "object": "refund", "amount": still_due, "status": "succeeded"}
    )
    with stripe_app.app_context():
        assert refund_donation(donation_id) == "re_rest"
    assert refund_requests(httpserver)[-1] == {"payment_intent": [PAYMENT_INTENT], "amount": [str(still_due)]}


def test_the_donation_refund_job_asks_nothing_for_an_accepted_or_missing_donation(stripe_app, donation, httpserver):
    _, found = donation
    webhook = stripe_app.test_client()
    assert deliver(webhook, completed(found)).json["status"] == "donation paid"
    with stripe_app.app_context():
        assert refund_donation(found.id) == "nothing to refund"
        assert refund_donation(999_999) == "nothing to refund"
    assert refund_requests(httpserver) == []


def failed_event(found, event_id: str, session_id: str = SESSION_ID) -> dict:
    return stripe_event(
        event_id,
        "checkout.session.async_payment_failed",
        {
            "id": session_id,
            "object": "checkout.session",
            "status": "complete",
            "payment_status": "unpaid",
            "client_reference_id": f"donation:{found.id}",
            "payment_intent": PAYMENT_INTENT,
            "amount_total": found.amount_cents,
            "currency": "usd",
        },
    )


def test_the_webhook_answers_a_failed_payment_and_a_late_failure_for_an_old_session(stripe_app, donation):
    _, found = donation
    webhook = stripe_app.test_client()
    assert deliver(webhook, failed_event(found, "evt_old", session_id="cs_test_older")).json["status"] == "unchanged"
    assert latest_donation(stripe_app).status == DonationStatus.PENDING
    assert deliver(webhook, failed_event(found, "evt_failed")).json["status"] == "failed"
    assert latest_donation(stripe_app).status == DonationStatus.FAILED
