"""A reader's address book in a real browser: the country's fields swap in place, a bad postcode
is refused in place, and the saved address shows the way its country writes it."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.journeys import is_same_page, log_in, mark_the_page
from tests.helpers import make_user

pytestmark = pytest.mark.browser


def test_choose_a_country_type_a_bad_postcode_then_save(page: Page, app):
    with app.app_context():
        make_user(email="rosa@example.com", name="Rosa Reader")
    log_in(page, "rosa@example.com", "Rosa Reader")
    page.goto("/account")
    page.get_by_role("link", name="Addresses").click()
    page.get_by_text("Add an address").click()
    mark_the_page(page)

    page.get_by_label("Full name").fill("Rosa Reader")
    page.get_by_label("Street address").fill("221B Baker Street")
    expect(page.get_by_label("ZIP code")).to_be_visible()  # the United States first
    with page.expect_response(lambda r: "/addresses/fields" in r.url):
        page.get_by_label("Country").select_option("GB")
    expect(page.get_by_label("Postcode")).to_be_visible()
    expect(page.get_by_label("State")).to_have_count(0)
    expect(page.get_by_label("Full name")).to_have_value("Rosa Reader")  # nothing typed is lost
    assert is_same_page(page)

    page.get_by_label("Town or city").fill("London")
    page.get_by_label("Postcode").fill("12345")
    page.get_by_role("button", name="Save the address").click()
    expect(page.get_by_text("Enter a postcode like EC1Y 8SY.")).to_be_visible()
    expect(page.get_by_label("Street address")).to_have_value("221B Baker Street")

    page.get_by_label("Postcode").fill("nw1 6xe")
    page.get_by_role("button", name="Save the address").click()
    expect(page.get_by_text("NW1 6XE")).to_be_visible()
    expect(page.get_by_text("Default address")).to_be_visible()
