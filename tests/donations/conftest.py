"""Fixtures for the donation tests that pay with Stripe (the stub; ``stripe_app`` is in tests/conftest.py)."""

from __future__ import annotations

import pytest

from tests.donations import give, latest_donation, open_club, reader
from tests.donations.stripe_events import CHECKOUT_URL, DONOR, SESSION_ID


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
