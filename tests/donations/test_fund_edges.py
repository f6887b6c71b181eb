"""The club fund where one value is not enough: refunds in steps, repeated refunds, a refund after
the fund was spent, the ledger's own duplicate guard, each club's goal bar, and the CSV's columns.

Found by mutation testing (issue 10): each test fails if the ledger or the donation's refund
rule loses a condition or flips a sign.
"""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import select

from app.donations.fund import add_entry, donated_total, fund_balance, ledger_csv, lock_fund
from app.donations.shelf import add_to_wishlist, buy_from_fund
from app.extensions import db
from app.models import Donation, DonationStatus, FundEntry, User
from tests.factories import isbn_for, make_books
from tests.helpers import make_user
from tests.payments.money import (
    balance,
    fresh,
    open_club,
    pay,
    pending_donation,
    refund,
    reversed_cents,
)

DONOR = "dan@example.com"


@pytest.fixture
def club(app_ctx):
    return open_club()


@pytest.fixture
def donor(app_ctx):
    return make_user(email=DONOR, name="Dan Donor")


def refund_subjects(inbox) -> list[str]:
    return [m["Subject"] for m in inbox.to(DONOR) if "refunded" in m["Subject"]]


def test_a_donation_refunded_in_two_steps_ends_fully_refunded(club, donor, inbox):
    donation = pending_donation(club, donor, 2000)
    pay(donation)
    refund(donation, 500)
    after_first = fresh(Donation, donation.id)
    assert (after_first.status, after_first.refunded_cents) == (DonationStatus.PAID, 500)
    assert balance(club.id) == 1500

    refund(donation, 500, 1500)  # Stripe reports the cumulative $20
    after_second = fresh(Donation, donation.id)
    assert (after_second.status, after_second.refunded_cents) == (DonationStatus.REFUNDED, 2000)
    inbox.wait_for(DONOR, count=3)  # the receipt and one email per refund step
    assert refund_subjects(inbox) == [f"Your donation to {club.name} was refunded"] * 2


def test_a_donation_refunded_in_three_steps_is_refunded_by_the_sum(club, donor):
    donation = pending_donation(club, donor, 3000)
    pay(donation)
    refund(donation, 500)
    refund(donation, 500, 700)
    after = fresh(Donation, donation.id)
    assert (after.status, after.refunded_cents) == (DonationStatus.PAID, 1200)


def test_the_ledger_gives_back_exactly_what_was_refunded_in_steps(club, donor):
    donation = pending_donation(club, donor, 2000)
    pay(donation)
    refund(donation, 500)
    refund(donation, 500, 1500)
    assert reversed_cents(donation.id) == fresh(Donation, donation.id).refunded_cents == 2000
    assert balance(club.id) == 0


def test_the_same_refund_reported_again_changes_nothing(club, donor, inbox):
    donation = pending_donation(club, donor, 2000)
    pay(donation)
    refund(donation, 700)
    refund(donation, 700)  # the same cumulative amount under another event id
    after = fresh(Donation, donation.id)
    assert (after.status, after.refunded_cents) == (DonationStatus.PAID, 700)
    assert reversed_cents(donation.id) == 700
    assert balance(club.id) == 1300
    inbox.wait_for(DONOR, count=2)
    assert len(refund_subjects(inbox)) == 1


def test_a_refund_after_the_fund_was_spent_is_owed_by_the_club(club, donor, inbox):
    donation = pending_donation(club, donor, 2000)
    pay(donation)
    [book] = make_books([{"title": "Spent On", "isbn": isbn_for(700001), "price": "15.00", "stock": 2}])
    item = add_to_wishlist(club, book.id)
    owner = db.session.scalar(select(User).where(User.email == "owner@example.com"))
    buy_from_fund(club, owner, [item.id])
    assert balance(club.id) == 500

    refund(donation, 2000)
    after = fresh(Donation, donation.id)
    assert (after.status, after.refunded_cents) == (DonationStatus.REFUNDED, 2000)
    # The whole refund is reversed: the club now owes what it spent of the refunded money.
    assert reversed_cents(donation.id) == 2000
    assert balance(club.id) == -1500
    assert any("refunded" in m["Subject"] for m in inbox.wait_for(DONOR, count=2))


def test_the_ledger_credits_a_donation_once_even_when_asked_twice(club, donor):
    donation = pending_donation(club, donor, 1200)
    lock_fund(club.id)
    first = add_entry(club.id, FundEntry.DONATION, 1200, "Donation", donation_id=donation.id)
    second = add_entry(club.id, FundEntry.DONATION, 1200, "Donation again", donation_id=donation.id)
    db.session.commit()
    assert first is not None and second is None
    assert fund_balance(club.id) == 1200
    assert [(e.amount_cents, e.balance_after_cents) for e in db.session.scalars(select(FundEntry))] == [(1200, 1200)]


def test_the_ledger_debits_a_purchase_once_even_when_asked_twice(club, donor):
    donation = pending_donation(club, donor, 5000)
    pay(donation)
    [book] = make_books([{"title": "Once Only", "isbn": isbn_for(700002), "price": "10.00", "stock": 3}])
    item = add_to_wishlist(club, book.id)
    owner = db.session.scalar(select(User).where(User.email == "owner@example.com"))
    order = buy_from_fund(club, owner, [item.id])
    lock_fund(club.id)
    again = add_entry(club.id, FundEntry.PURCHASE, -1000, "The same books", order_id=order.id)
    db.session.commit()
    assert again is None
    assert fund_balance(club.id) == 5000 - 1000


def test_lines_without_a_reference_are_never_taken_for_duplicates(club):
    lock_fund(club.id)
    add_entry(club.id, FundEntry.DONATION, 1000, "Opening balance")
    add_entry(club.id, FundEntry.DONATION, 1000, "Opening balance")
    db.session.commit()
    assert fund_balance(club.id) == 2000


def test_each_clubs_goal_bar_counts_only_its_own_donations(app_ctx, donor):
    night = open_club()
    day = open_club(owner_email="dora@example.com", name="Day Readers")
    paid_night = pending_donation(night, donor, 1500)
    pay(paid_night)
    pay(pending_donation(day, donor, 4000))
    refund(paid_night, 500)
    lock_fund(night.id)
    add_entry(night.id, FundEntry.DONATION, 100, "Cash at the meeting")
    db.session.commit()
    assert donated_total(night.id) == 1500 - 500 + 100
    assert donated_total(day.id) == 4000


def test_fund_purchases_are_not_taken_off_the_money_raised(club, donor):
    pay(pending_donation(club, donor, 3000))
    [book] = make_books([{"title": "Shelf", "isbn": isbn_for(700003), "price": "10.00", "stock": 3}])
    owner = db.session.scalar(select(User).where(User.email == "owner@example.com"))
    buy_from_fund(club, owner, [add_to_wishlist(club, book.id).id])
    assert donated_total(club.id) == 3000
    assert fund_balance(club.id) == 2000


def test_the_fund_csv_has_one_row_per_line_with_its_date_kind_references_and_description(club, donor):
    anonymous = make_user(email="anna@example.com", name="Anna Nonymous")
    named = pending_donation(club, donor, 3000)
    pay(named)
    hidden = pending_donation(club, anonymous, 1000, anonymous=True)
    pay(hidden)
    [book] = make_books([{"title": "Shelf", "isbn": isbn_for(700004), "price": "10.00", "stock": 3}])
    owner = db.session.scalar(select(User).where(User.email == "owner@example.com"))
    order = buy_from_fund(club, owner, [add_to_wishlist(club, book.id).id])

    rows = list(csv.reader(io.StringIO(ledger_csv(club.id))))
    assert rows[0] == ["date", "kind", "amount", "balance_after", "donor", "donation_id", "order_id", "description"]
    body = rows[1:]
    assert len(body) == 3
    entries = db.session.scalars(select(FundEntry).order_by(FundEntry.id)).all()
    for row, entry in zip(body, entries, strict=True):
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", row[0]), row[0]
        assert row[0] == entry.created_at.strftime("%Y-%m-%d %H:%M:%S")
    oldest_first = [(r[1], r[3], r[4], r[5], r[6], r[7]) for r in body]
    assert oldest_first == [
        ("donation", "30.00", "Dan Donor", str(named.id), "", f"Donation #{named.id}"),
        ("donation", "40.00", "Anonymous", str(hidden.id), "", f"Donation #{hidden.id}"),
        ("purchase", "30.00", "", "", str(order.id), f"Books for the shelf (order #{order.id})"),
    ]
    assert [r[2] for r in body[:2]] == ["30.00", "10.00"]
