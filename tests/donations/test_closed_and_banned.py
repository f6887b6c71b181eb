"""Money a club may no longer take: closed clubs and banned donors (simulated gateway)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.clubs.services import close_club, remove_member
from app.donations.services import DonationError, start_donation_checkout
from app.extensions import db
from app.models import Donation, DonationStatus, Membership, User
from tests.donations import (
    CLUB_NAME,
    balance,
    club_named,
    fund_entries,
    give,
    join,
    latest_donation,
    open_club,
    owner_client,
    reader,
    text_of,
)

DONOR = "donor@example.com"


@pytest.fixture
def slug(app):
    return open_club(app)


@pytest.fixture
def donor(app, slug):
    return reader(app, DONOR, "Dora Donor")


def ban(app, slug, email):
    with app.app_context():
        club = club_named(slug)
        user = db.session.scalar(select(User).where(User.email == email))
        membership = db.session.scalar(
            select(Membership).where(Membership.club_id == club.id, Membership.user_id == user.id)
        )
        remove_member(club, membership.id, ban=True)


def close(app, slug):
    with app.app_context():
        close_club(club_named(slug))


def test_closing_the_club_expires_open_donation_checkouts(app, donor, slug):
    gateway_url = give(donor, slug, "25").headers["Location"]
    close(app, slug)
    assert latest_donation(app).status == DonationStatus.EXPIRED
    page = donor.get(f"/donations/{latest_donation(app).id}").get_data(as_text=True)
    assert "Checkout expired" in page
    assert "/payments/simulated/" in gateway_url


def test_a_payment_that_lands_after_closing_is_refunded_and_the_donor_told(app, donor, slug, inbox):
    gateway_url = give(donor, slug, "25").headers["Location"]
    donor.get(gateway_url)  # the payment page was open before the club closed...
    close(app, slug)
    landed = donor.post(gateway_url, data={"action": "pay"}, follow_redirects=True)  # ...and paid after

    assert landed.status_code == 200
    donation = latest_donation(app)
    assert (donation.status, donation.refunded_cents) == (DonationStatus.REFUNDED, 2500)
    assert fund_entries(app, slug) == [] and balance(app, slug) == 0
    subjects = [m["Subject"] for m in inbox.wait_for(DONOR, 2)]
    assert f"Your donation to {CLUB_NAME} is being returned" in subjects
    assert f"Thank you for your donation to {CLUB_NAME}" not in subjects
    [returned] = [m for m in inbox.to(DONOR) if "being returned" in m["Subject"]]
    assert "the club cannot take it: the club has closed. We are refunding" in text_of(returned)
    assert "$25.00" in text_of(returned)


def test_a_payment_from_a_member_banned_meanwhile_is_refunded(app, donor, slug, inbox):
    join(app, slug, DONOR)
    gateway_url = give(donor, slug, "30").headers["Location"]
    donor.get(gateway_url)
    ban(app, slug, DONOR)
    donor.post(gateway_url, data={"action": "pay"})

    donation = latest_donation(app)
    assert (donation.status, donation.refunded_cents) == (DonationStatus.REFUNDED, 3000)
    assert fund_entries(app, slug) == []
    [returned] = [m for m in inbox.wait_for(DONOR) if "being returned" in m["Subject"]]
    assert "the club cannot take it: you may no longer give to this club. We are refunding" in text_of(returned)


def test_a_banned_member_cannot_pay_a_pending_donation(app, donor, slug):
    join(app, slug, DONOR)
    give(donor, slug, "30")
    donation_id = latest_donation(app).id
    with app.app_context():  # the checkout page was never opened (the gateway was down, say)
        db.session.get(Donation, donation_id).checkout_url = None
        db.session.commit()
    ban(app, slug, DONOR)

    response = donor.post(f"/donations/{donation_id}/pay", follow_redirects=True)

    assert response.request.path == f"/donations/{donation_id}"
    assert "You can no longer give to this club." in response.get_data(as_text=True)
    with app.app_context():  # the service refuses too, so the API and CLI paths do as well
        donation = db.session.get(Donation, donation_id)
        with pytest.raises(DonationError, match="no longer give"):
            start_donation_checkout(donation, db.session.get(User, donation.user_id))
        assert db.session.get(Donation, donation_id).status == DonationStatus.PENDING


def test_a_pending_donation_cannot_be_paid_once_the_club_closed(app, donor, slug):
    give(donor, slug, "30")
    donation_id = latest_donation(app).id
    close(app, slug)
    response = donor.post(f"/donations/{donation_id}/pay", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "/payments/simulated/" not in response.request.path
    assert "no longer takes donations" in page or "nothing to pay" in page
    assert balance(app, slug) == 0


def test_the_owner_closing_through_the_page_expires_checkouts_too(app, donor, slug):
    give(donor, slug, "25")
    owner = owner_client(app)
    assert owner.post(f"/clubs/{slug}/close").status_code in (200, 303)
    assert latest_donation(app).status == DonationStatus.EXPIRED


def test_a_payment_from_a_donor_who_deleted_their_account_meanwhile_is_refunded(app, donor, slug, inbox):
    from app.accounts.services import anonymise_account

    gateway_url = give(donor, slug, "20").headers["Location"]
    donor.get(gateway_url)  # the payment page is open...
    with app.app_context():
        anonymise_account(db.session.scalar(select(User).where(User.email == DONOR)))
    with app.app_context():
        donation = latest_donation(app)
        from tests.payments.money import pay

        pay(db.session.get(Donation, donation.id))  # ...and the payment lands after the account is gone

    donation = latest_donation(app)
    assert (donation.status, donation.refunded_cents) == (DonationStatus.REFUNDED, 2000)
    assert fund_entries(app, slug) == [] and balance(app, slug) == 0
    assert inbox.to(DONOR) == []  # nobody is left to write to
