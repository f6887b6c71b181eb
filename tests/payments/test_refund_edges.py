"""Refunds where one payment is not enough: two parked refunds for two payments, receipts and
refund emails for deleted accounts.

Found by mutation testing (issue 10): each test fails if the parked-refund lookup or the
"is this account still there" check loses its condition.
"""

from __future__ import annotations

import pytest

from app.accounts.services import delete_account
from app.extensions import db
from app.models import Donation, DonationStatus, Order, OrderStatus
from app.payments.fulfilment import handle_event
from tests.factories import isbn_for, make_books
from tests.helpers import PASSWORD, make_user
from tests.payments.money import balance, fresh, open_club, pay, pending_donation, pending_order, refund, refund_event

DONOR = "dan@example.com"
BUYER = "bea@example.com"


@pytest.fixture
def club(app_ctx):
    return open_club()


@pytest.fixture
def donor(app_ctx):
    return make_user(email=DONOR, name="Dan Donor")


def test_parked_refunds_for_two_payments_each_apply_to_their_own_payment(club, donor):
    first = pending_donation(club, donor, 2000)
    second = pending_donation(club, donor, 3000)
    # Both refunds arrive before their payments: the first in full, the second in part.
    assert handle_event("simulated", refund_event("pi_first", [2000], 2000)) == "parked"
    assert handle_event("simulated", refund_event("pi_second", [1000], 3000)) == "parked"

    pay(first, payment_intent="pi_first")
    assert (fresh(Donation, first.id).status, fresh(Donation, first.id).refunded_cents) == (
        DonationStatus.REFUNDED,
        2000,
    )
    assert fresh(Donation, second.id).refunded_cents == 0  # not paid yet: nothing to undo
    assert balance(club.id) == 0

    pay(second, payment_intent="pi_second")
    now = fresh(Donation, second.id)
    assert (now.status, now.refunded_cents) == (DonationStatus.PAID, 1000)
    assert balance(club.id) == 2000


def test_of_two_parked_refunds_for_one_payment_the_larger_total_applies(club, donor):
    donation = pending_donation(club, donor, 3000)
    handle_event("simulated", refund_event("pi_one", [1000, 2000], 3000))  # the later, cumulative report
    handle_event("simulated", refund_event("pi_one", [1000], 3000))  # arrives first at our end
    pay(donation, payment_intent="pi_one")
    now = fresh(Donation, donation.id)
    assert (now.status, now.refunded_cents) == (DonationStatus.REFUNDED, 3000)
    assert balance(club.id) == 0


def test_a_deleted_donors_late_payment_goes_back_and_no_email_goes_to_the_closed_account(club, donor, inbox):
    donation = pending_donation(club, donor, 2500)
    delete_account(donor, PASSWORD)
    db.session.commit()
    gone = donor.email

    pay(donation)  # refused: the refund job (inline here) pays it back
    refund(donation, 2500)  # the gateway's confirmation

    assert fresh(Donation, donation.id).status == DonationStatus.REFUNDED
    assert balance(club.id) == 0
    assert inbox.to(gone) == [] and inbox.to(DONOR) == [] and inbox.to("owner@example.com") == []


def test_a_living_donor_gets_a_receipt_and_a_refund_email(club, donor, inbox):
    donation = pending_donation(club, donor, 2500)
    pay(donation)
    refund(donation, 2500)
    subjects = sorted(m["Subject"] for m in inbox.wait_for(DONOR, count=2))
    assert subjects == ["Thank you for your donation to Night Owls", "Your donation to Night Owls was refunded"]


def test_a_deleted_buyer_gets_no_receipt_and_no_refund_email(app_ctx, inbox):
    buyer = make_user(email=BUYER, name="Bea Buyer")
    [book] = make_books([{"title": "Gone Girl", "isbn": isbn_for(710001), "price": "12.00", "stock": 3}])
    order = pending_order(buyer, [book])
    delete_account(buyer, PASSWORD)
    db.session.commit()

    pay(order)
    refund(order, 1200)

    now = fresh(Order, order.id)
    assert (now.status, now.refunded_cents) == (OrderStatus.REFUNDED, 1200)
    assert inbox.messages == []


def test_a_living_buyer_gets_a_receipt_and_a_refund_email(app_ctx, inbox):
    buyer = make_user(email=BUYER, name="Bea Buyer")
    [book] = make_books([{"title": "Here Now", "isbn": isbn_for(710002), "price": "12.00", "stock": 3}])
    order = pending_order(buyer, [book])
    pay(order)
    refund(order, 1200)
    subjects = [m["Subject"] for m in inbox.wait_for(BUYER, count=2)]
    assert subjects == [f"Your Book Commerce receipt for order #{order.id}", f"Order #{order.id}: refund of 12.00"]


def test_a_refused_payment_going_back_leaves_the_other_donations_in_the_fund(club, donor):
    kept = pending_donation(club, make_user(email="kim@example.com", name="Kim Keeper"), 2000)
    pay(kept)
    late = pending_donation(club, donor, 2500)
    delete_account(donor, PASSWORD)
    db.session.commit()

    pay(late)  # refused: it never reached the fund, so its refund takes nothing out of it
    refund(late, 2500)

    assert fresh(Donation, late.id).status == DonationStatus.REFUNDED
    assert balance(club.id) == 2000


def test_the_donors_emails_greet_them_by_name_and_name_the_club(club, donor, inbox):
    donation = pending_donation(club, donor, 2500)
    pay(donation)
    refund(donation, 2500)
    for message in inbox.wait_for(DONOR, count=2):
        body = message.get_body(preferencelist=("plain",)).get_content()
        assert body.startswith("Hello Dan Donor,"), body
        assert "$25.00 to Night Owls" in body, body
