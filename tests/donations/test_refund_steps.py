"""Refunds in several parts, paid events that do not match, odd webhook input, closing with Stripe.

The Stripe API is a local stub and webhooks are signed with the real secret (tests/payments/webhooks.py;
the ``donation`` fixture is in tests/donations/conftest.py).
"""

from __future__ import annotations

import logging
import re

from sqlalchemy import select

from app.clubs.services import close_club
from app.donations.fund import add_entry, lock_fund
from app.extensions import db
from app.models import Donation, DonationStatus, FundEntry, PaymentEvent
from tests.donations import balance, club_named, count, fund_entries, latest_donation, owner_client
from tests.donations.stripe_events import SESSION_ID, completed, refund_event
from tests.payments.webhooks import deliver, stripe_event


def spend_from_fund(app, slug, cents: int) -> None:
    """The owner buys books with the fund (a ledger debit, as buy_from_fund makes)."""
    with app.app_context():
        club = club_named(slug)
        lock_fund(club.id)
        add_entry(club.id, FundEntry.PURCHASE, -cents, "Books for the shelf")
        db.session.commit()


# ---- Item 2: refunds in several parts ----------------------------------------------------------


def test_a_donation_refunded_in_two_parts_leaves_nothing_in_the_fund(stripe_app, donation, inbox):
    slug, found = donation  # $35
    webhook = stripe_app.test_client()
    deliver(webhook, completed(found))

    assert deliver(webhook, refund_event(found, "evt_refund_part", 500)).json["status"] == "donation refunded"
    assert deliver(webhook, refund_event(found, "evt_refund_rest", 3500)).json["status"] == "donation refunded"
    assert deliver(webhook, refund_event(found, "evt_refund_rest", 3500)).json["status"] == "duplicate"

    assert fund_entries(stripe_app, slug) == [
        (FundEntry.DONATION, 3500, 3500),
        (FundEntry.REVERSAL, -500, 3000),
        (FundEntry.REVERSAL, -3000, 0),
    ]
    assert balance(stripe_app, slug) == 0
    now = latest_donation(stripe_app)
    assert (now.status, now.refunded_cents) == (DonationStatus.REFUNDED, 3500)
    with stripe_app.app_context():
        refs = db.session.scalars(
            select(FundEntry.refund_ref).where(FundEntry.kind == FundEntry.REVERSAL).order_by(FundEntry.id)
        ).all()
    assert refs == ["evt_refund_part", "evt_refund_rest"]  # one line per refund step, keyed by its event


def test_refund_events_out_of_order_reverse_the_cumulative_amount_once(stripe_app, donation):
    slug, found = donation
    webhook = stripe_app.test_client()
    deliver(webhook, completed(found))

    assert deliver(webhook, refund_event(found, "evt_refund_2", 2000)).json["status"] == "donation refunded"
    late = deliver(webhook, refund_event(found, "evt_refund_1", 500))  # the earlier, smaller step

    assert late.json["status"] == "refund already recorded"
    assert fund_entries(stripe_app, slug) == [(FundEntry.DONATION, 3500, 3500), (FundEntry.REVERSAL, -2000, 1500)]
    assert latest_donation(stripe_app).status == DonationStatus.PAID  # $15 of it is still given


def test_parked_refunds_apply_their_cumulative_total_when_the_payment_lands(stripe_app, donation):
    slug, found = donation
    webhook = stripe_app.test_client()
    assert deliver(webhook, refund_event(found, "evt_refund_1", 1000)).json["status"] == "parked"
    assert deliver(webhook, refund_event(found, "evt_refund_2", 1500)).json["status"] == "parked"

    assert deliver(webhook, completed(found)).json["status"] == "donation paid; donation refunded"
    assert balance(stripe_app, slug) == 2000
    assert fund_entries(stripe_app, slug)[1:] == [(FundEntry.REVERSAL, -1500, 2000)]
    with stripe_app.app_context():
        assert db.session.scalar(select(PaymentEvent.id).where(PaymentEvent.applied.is_(False))) is None


def test_a_refund_after_the_fund_was_spent_is_recorded_in_full(stripe_app, donation):
    slug, found = donation
    webhook = stripe_app.test_client()
    deliver(webhook, completed(found))
    spend_from_fund(stripe_app, slug, 3000)  # $5 left

    deliver(webhook, refund_event(found, "evt_refund_all", 3500))

    # The donor got $35 back: the ledger says so, and the fund owes the $30 it had spent.
    assert fund_entries(stripe_app, slug)[-1] == (FundEntry.REVERSAL, -3500, -3000)
    assert balance(stripe_app, slug) == -3000
    fund_page = owner_client(stripe_app).get(f"/clubs/{slug}/fund").get_data(as_text=True)
    assert "-$30.00" in fund_page or "−$30.00" in fund_page or "$-30.00" in fund_page
    # A fund that owes money holds nothing to strand: the owner may still close the club.
    with stripe_app.app_context():
        close_club(club_named(slug))
        assert club_named(slug).closed_at is not None


# ---- Item 15: a paid event must pay what was asked ----------------------------------------------


def _mismatches(client, kind: str) -> float:
    text = client.get("/metrics").get_data(as_text=True)
    found = re.search(rf'^bookcommerce_payment_mismatches_total{{kind="{kind}"}} (\S+)$', text, re.M)
    return float(found[1]) if found else 0.0


def test_a_paid_event_for_one_cent_is_parked_and_the_donation_stays_unpaid(stripe_app, donation, caplog):
    slug, found = donation  # $35 asked
    webhook = stripe_app.test_client()
    before = _mismatches(webhook, "donation")
    cheap = completed(found)
    cheap["data"]["object"]["amount_total"] = 1

    with caplog.at_level(logging.ERROR, logger="app.payments.fulfilment"):
        response = deliver(webhook, cheap)

    assert response.status_code == 200 and response.json["status"] == "parked: amount mismatch"
    assert latest_donation(stripe_app).status == DonationStatus.PENDING
    assert balance(stripe_app, slug) == 0 and fund_entries(stripe_app, slug) == []
    assert any("paid 1 usd, expected 3500 usd" in r.getMessage() for r in caplog.records)
    assert _mismatches(webhook, "donation") == before + 1
    with stripe_app.app_context():
        parked = db.session.scalar(select(PaymentEvent))
        assert (parked.applied, parked.parked_reason) == (False, "amount mismatch: paid 1 usd, expected 3500 usd")


def test_a_paid_event_in_another_currency_is_parked(stripe_app, donation):
    slug, found = donation
    webhook = stripe_app.test_client()
    euros = completed(found)
    euros["data"]["object"]["currency"] = "eur"
    assert deliver(webhook, euros).json["status"] == "parked: amount mismatch"
    assert latest_donation(stripe_app).status == DonationStatus.PENDING
    # The right event afterwards is applied as usual.
    right = completed(found)
    right["id"] = "evt_donation_paid_right"
    assert deliver(webhook, right).json["status"] == "donation paid"
    assert balance(stripe_app, slug) == 3500


# ---- Item 14 (webhooks): odd input in a correctly signed event ----------------------------------


def test_a_reference_too_large_for_an_id_names_nothing(stripe_app, donation, caplog):
    slug, found = donation
    webhook = stripe_app.test_client()
    for n, reference in enumerate(
        ["donation:99999999999999999999", "donation:2147483648", "donation:abc", "donation:²"]
    ):
        payload = completed(found)
        payload["id"] = f"evt_odd_{n}"
        payload["data"]["object"]["client_reference_id"] = reference
        payload["data"]["object"]["metadata"] = {"reference": reference}
        with caplog.at_level(logging.WARNING, logger="app.payments.fulfilment"):
            response = deliver(webhook, payload)
        assert (response.status_code, response.json["status"]) == (200, "unknown reference"), reference
        assert any(reference in r.getMessage() for r in caplog.records)
    assert latest_donation(stripe_app).status == DonationStatus.PENDING


def test_ill_typed_amounts_and_ids_are_refused_with_400(stripe_app, donation, caplog):
    slug, found = donation
    webhook = stripe_app.test_client()
    deliver(webhook, completed(found))
    odd = [
        refund_event(found, "evt_odd_refund", "abc"),
        refund_event(found, "evt_odd_refund_big", 10**30),
        refund_event(found, "evt_odd_refund_bool", True),
    ]
    session_object = completed(found)
    session_object["id"] = "evt_odd_total"
    session_object["data"]["object"]["amount_total"] = "3500"
    odd.append(session_object)
    intent = refund_event(found, "evt_odd_intent", 3500)
    intent["data"]["object"]["payment_intent"] = {"id": "pi_donation"}
    odd.append(intent)
    long_id = refund_event(found, "evt_" + "x" * 300, 3500)
    odd.append(long_id)

    for payload in odd:
        with caplog.at_level(logging.ERROR, logger="app.payments.views"):
            response = deliver(webhook, payload)
        assert response.status_code == 400, payload
        assert response.json["error"].startswith("malformed event")
    assert any("malformed Stripe event" in r.getMessage() for r in caplog.records)
    assert count(stripe_app, PaymentEvent.id) == 1  # only the payment: nothing odd was stored
    assert balance(stripe_app, slug) == 3500


# ---- Item 3 with Stripe: closing expires the open checkout --------------------------------------


def test_closing_a_club_expires_its_open_stripe_checkouts(stripe_app, donation, httpserver):
    slug, found = donation
    httpserver.expect_request(f"/v1/checkout/sessions/{SESSION_ID}/expire", method="POST").respond_with_json(
        {"id": SESSION_ID, "object": "checkout.session", "status": "expired"}
    )
    with stripe_app.app_context():
        close_club(club_named(slug))
    assert [r.path for r, _ in httpserver.log if r.path.endswith("/expire")] == [
        f"/v1/checkout/sessions/{SESSION_ID}/expire"
    ]
    expired = stripe_event(
        "evt_expired", "checkout.session.expired", {**completed(found)["data"]["object"], "status": "expired"}
    )
    expired["data"]["object"]["payment_status"] = "unpaid"
    assert deliver(stripe_app.test_client(), expired).json["status"] == "expired"
    assert latest_donation(stripe_app).status == DonationStatus.EXPIRED


def test_a_stripe_payment_that_lands_after_closing_is_refunded(stripe_app, donation, httpserver, inbox):
    slug, found = donation
    httpserver.expect_request(f"/v1/checkout/sessions/{SESSION_ID}/expire", method="POST").respond_with_json(
        {"error": {"type": "invalid_request_error", "message": "Only open sessions can be expired."}}, status=400
    )
    httpserver.expect_request("/v1/refunds", method="POST").respond_with_json(
        {"id": "re_closed", "object": "refund", "payment_intent": "pi_donation", "amount": 3500}
    )
    with stripe_app.app_context():
        close_club(club_named(slug))  # the donor paid a moment before: Stripe cannot expire it

    webhook = stripe_app.test_client()
    assert deliver(webhook, completed(found)).json["status"].startswith("donation paid; refused (the club has closed)")
    assert latest_donation(stripe_app).status == DonationStatus.REFUND_DUE
    [refund] = [r for r, _ in httpserver.log if r.path == "/v1/refunds"]
    assert "amount=3500" in refund.get_data(as_text=True)
    assert fund_entries(stripe_app, slug) == []

    # Stripe confirms the refund: the donation is refunded and the fund never held anything.
    assert deliver(webhook, refund_event(found, "evt_refund_closed", 3500)).json["status"] == "donation refunded"
    now = latest_donation(stripe_app)
    assert (now.status, now.refunded_cents) == (DonationStatus.REFUNDED, 3500)
    assert fund_entries(stripe_app, slug) == [] and balance(stripe_app, slug) == 0
    [returned] = [m for m in inbox.wait_for("donor@example.com", 1) if "being returned" in m["Subject"]]
    assert "the club has closed" in returned.get_body(preferencelist=("plain",)).get_content()
    with stripe_app.app_context():
        assert db.session.get(Donation, found.id).paid_at is not None
