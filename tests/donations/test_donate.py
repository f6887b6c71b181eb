"""Giving money to a club through the simulated gateway: pay, decline, retry, bounds, errors."""

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Donation, DonationStatus, FundEntry, Notification, User
from app.payments.gateway import GatewayError
from app.payments.simulated import SimulatedGateway
from tests.donations import (
    CLUB_NAME,
    OWNER,
    balance,
    count,
    donate_and_pay,
    fund_entries,
    give,
    latest_donation,
    open_club,
    pay_on_gateway,
    reader,
    text_of,
)

DONOR = "donor@example.com"
DONOR_NAME = "Dora Donor"


@pytest.fixture
def slug(app):
    return open_club(app, goal_cents=50_000)


@pytest.fixture
def donor(app, slug):
    return reader(app, DONOR, DONOR_NAME)


def test_the_donate_page_shows_the_bounds_and_the_goal(donor, slug):
    page = donor.get(f"/clubs/{slug}/donate").get_data(as_text=True)
    assert f"Give to {CLUB_NAME}" in page
    assert "Between $1.00 and $10,000.00." in page
    assert "$0.00 of the $500.00 goal raised" in page


def test_a_donation_paid_on_the_gateway_credits_the_fund_and_sends_two_emails_once(app, donor, slug, inbox):
    response = give(donor, slug, "25", message="For the poetry shelf")
    assert response.status_code == 303
    gateway_url = response.headers["Location"]
    assert "/payments/simulated/" in gateway_url
    gateway_page = donor.get(gateway_url).get_data(as_text=True)
    assert f"Donation to {CLUB_NAME}" in gateway_page and "$25.00" in gateway_page

    landed = donor.post(gateway_url, data={"action": "pay"}, follow_redirects=True)
    page = landed.get_data(as_text=True)
    donation = latest_donation(app)
    assert landed.request.path == f"/donations/{donation.id}"
    assert "Thank you!" in page and "Received" in page
    assert "every 2s" not in page  # a paid donation stops polling
    assert balance(app, slug) == 2500
    assert fund_entries(app, slug) == [(FundEntry.DONATION, 2500, 2500)]

    [receipt] = inbox.wait_for(DONOR)
    assert receipt["Subject"] == f"Thank you for your donation to {CLUB_NAME}"
    assert "$25.00" in text_of(receipt) and "For the poetry shelf" in text_of(receipt)
    assert "anonymously" not in text_of(receipt)
    [notice] = inbox.wait_for(OWNER)
    assert notice["Subject"] == f"{CLUB_NAME} received a donation"
    assert f"{DONOR_NAME} gave $25.00 to {CLUB_NAME}" in text_of(notice)
    assert "For the poetry shelf" in text_of(notice)

    # The gateway reports the payment again (a new event): nothing more happens.
    donor.post(gateway_url, data={"action": "pay"})
    assert balance(app, slug) == 2500
    assert count(app, FundEntry.id) == 1
    assert len(inbox.to(DONOR)) == 1 and len(inbox.to(OWNER)) == 1

    listing = donor.get("/account/donations").get_data(as_text=True)
    assert CLUB_NAME in listing and "$25.00" in listing and "Received" in listing
    # Each email also shows in its reader's notifications, linking to what it is about.
    with app.app_context():
        notes = db.session.execute(
            select(User.email, Notification.title, Notification.url)
            .join(User, User.id == Notification.user_id)
            .order_by(Notification.id)
        ).all()
    assert sorted(notes) == sorted(
        [
            (DONOR, f"Thank you for your donation to {CLUB_NAME}", f"/donations/{donation.id}"),
            (OWNER, f"{CLUB_NAME} received a donation", f"/clubs/{slug}/donations"),
        ]
    )
    assert "$25.00 of the $500.00 goal raised" in donor.get(f"/clubs/{slug}/donate").get_data(as_text=True)


def test_the_status_page_polls_while_open_and_serves_a_fragment_to_htmx(app, donor, slug):
    response = give(donor, slug, "10")
    donation = latest_donation(app)
    page = donor.get(f"/donations/{donation.id}").get_data(as_text=True)
    assert 'hx-trigger="every 2s"' in page and "Waiting for your payment" in page
    fragment = donor.get(f"/donations/{donation.id}", headers={"HX-Request": "true"})
    html = fragment.get_data(as_text=True)
    assert html.lstrip().startswith('<section id="donation-status"') and "<html" not in html
    assert "HX-Request" in fragment.headers["Vary"]
    cancelled = donor.get(f"/donations/{donation.id}?cancelled=1").get_data(as_text=True)
    assert "You left the payment page" in cancelled
    assert response.headers["Location"] in donor.post(f"/donations/{donation.id}/pay").headers["Location"]


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("0.99", "Give between 1.00 and 10000.00."),
        ("10000.01", "Give between 1.00 and 10000.00."),
        ("-5", "Give between 1.00 and 10000.00."),
        ("12.345", "Use at most two decimal places"),
        ("lots", "Not a valid decimal value"),
        ("", "Enter an amount in dollars"),
    ],
)
def test_amounts_outside_the_bounds_are_refused_in_place(app, donor, slug, amount, message):
    response = give(donor, slug, amount)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert count(app, Donation.id) == 0


def test_an_htmx_form_with_errors_comes_back_alone(donor, slug):
    response = give(donor, slug, "0.50", **{"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert html.lstrip().startswith("<form") and 'id="donate-form"' in html and "<html" not in html


def test_the_bounds_come_from_the_configuration(app, donor, slug, monkeypatch):
    monkeypatch.setitem(app.config, "DONATION_MAX_CENTS", 5000)
    assert give(donor, slug, "50").status_code == 303
    refused = give(donor, slug, "50.01")
    assert refused.status_code == 422 and "Give between 1.00 and 50.00." in refused.get_data(as_text=True)


def test_htmx_giving_redirects_with_hx_redirect(donor, slug):
    response = give(donor, slug, "5", **{"HX-Request": "true"})
    assert response.status_code == 200
    assert "/payments/simulated/" in response.headers["HX-Redirect"]


def test_a_declined_payment_fails_tells_the_donor_and_can_be_retried(app, donor, slug, inbox):
    response = give(donor, slug, "40")
    first_url = response.headers["Location"]
    page = pay_on_gateway(donor, first_url, action="decline").get_data(as_text=True)
    assert "The payment did not go through" in page and "Try paying again" in page
    assert latest_donation(app).status == DonationStatus.FAILED
    assert balance(app, slug) == 0
    [failed] = inbox.wait_for(DONOR)
    assert failed["Subject"] == f"Your donation to {CLUB_NAME} did not go through"
    assert "nothing was charged" in text_of(failed)

    donation_id = latest_donation(app).id
    retry = donor.post(f"/donations/{donation_id}/pay")
    assert retry.status_code == 303 and retry.headers["Location"] != first_url  # a new attempt, a new session
    assert latest_donation(app).checkout_attempt == 2
    assert "Thank you!" in pay_on_gateway(donor, retry.headers["Location"]).get_data(as_text=True)
    assert latest_donation(app).status == DonationStatus.PAID
    assert balance(app, slug) == 4000
    assert [m["Subject"] for m in inbox.wait_for(DONOR, 2)][1] == f"Thank you for your donation to {CLUB_NAME}"


def test_a_paid_donation_cannot_be_paid_again(app, donor, slug):
    donate_and_pay(donor, slug, "10")
    donation_id = latest_donation(app).id
    page = donor.post(f"/donations/{donation_id}/pay", follow_redirects=True).get_data(as_text=True)
    assert '<p class="flash flash-error" role="alert">This donation is received; there is nothing to pay.' in page
    assert balance(app, slug) == 1000


def test_an_unreachable_gateway_keeps_the_donation_and_says_so(app, donor, slug, monkeypatch):
    class Down:
        name = "simulated"

        def create_checkout(self, request):
            raise GatewayError("timeout")

    monkeypatch.setattr("app.donations.services.get_gateway", lambda: Down())
    response = give(donor, slug, "15")
    donation = latest_donation(app)
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/donations/{donation.id}")
    page = donor.get(response.headers["Location"]).get_data(as_text=True)
    assert "We could not reach the payment service" in page and "Pay now" in page
    assert donation.status == DonationStatus.PENDING

    again = donor.post(f"/donations/{donation.id}/pay", follow_redirects=True).get_data(as_text=True)
    assert '<p class="flash flash-error" role="alert">We could not reach the payment service.' in again
    monkeypatch.undo()
    assert "/payments/simulated/" in donor.post(f"/donations/{donation.id}/pay").headers["Location"]


def test_a_donation_asks_the_gateway_under_its_own_name_and_attempt(app, donor, slug, monkeypatch):
    asked = []

    class Recording(SimulatedGateway):
        def create_checkout(self, request):
            asked.append(request)
            return super().create_checkout(request)

    monkeypatch.setattr("app.donations.services.get_gateway", lambda: Recording())
    give(donor, slug, "15")
    donation = latest_donation(app)
    [request] = asked
    assert (request.reference, request.idempotency_key) == (
        f"donation:{donation.id}",
        f"donation-{donation.id}-attempt-1",
    )
    assert request.metadata == {"donation_id": str(donation.id), "club": slug}
    assert [(i.name, i.unit_amount_cents, i.quantity) for i in request.line_items] == [
        (f"Donation to {CLUB_NAME}", 1500, 1)
    ]
    assert request.success_url.endswith(f"/donations/{donation.id}?session_id={{CHECKOUT_SESSION_ID}}")
    assert request.cancel_url.endswith(f"/donations/{donation.id}?cancelled=1")


def test_giving_needs_a_log_in_and_a_donation_is_its_donors_alone(app, client, donor, slug):
    response = client.get(f"/clubs/{slug}/donate")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    give(donor, slug, "10")
    donation_id = latest_donation(app).id
    other = reader(app, "other@example.com", "Otto Other")
    assert other.get(f"/donations/{donation_id}").status_code == 404
    assert other.post(f"/donations/{donation_id}/pay").status_code == 404
    assert CLUB_NAME not in other.get("/account/donations").get_data(as_text=True)
    assert client.get("/account/donations").status_code == 302


def test_an_unknown_club_is_not_found(donor):
    assert donor.get("/clubs/no-such-club/donate").status_code == 404


def test_a_closed_club_takes_no_donations(app, donor, slug):
    from app.clubs.services import close_club
    from tests.donations import club_named

    with app.app_context():
        close_club(club_named(slug))
    assert "no longer takes donations" in donor.get(f"/clubs/{slug}/donate").get_data(as_text=True)
    refused = give(donor, slug, "10")
    assert refused.status_code == 422 and "This club is closed" in refused.get_data(as_text=True)


def test_a_donation_started_before_the_club_closed_cannot_be_paid_after(app, donor, slug):
    from app.clubs.services import close_club
    from tests.donations import club_named

    give(donor, slug, "10")
    donation_id = latest_donation(app).id
    with app.app_context():
        close_club(club_named(slug))
    page = donor.post(f"/donations/{donation_id}/pay", follow_redirects=True).get_data(as_text=True)
    assert "This club is closed" in page
    assert balance(app, slug) == 0
