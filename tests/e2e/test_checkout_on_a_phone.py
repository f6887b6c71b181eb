"""Every checkout step on a 360 px phone, for a reader and for a guest: no sideways scroll, tap
targets of 44 px, a title naming the step, and no serious or critical axe-core finding. The
crawl in test_every_page.py cannot reach these pages: each step is entered by posting the last."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.crawl import PHONE, Report, check_page, prepare
from tests.e2e.journeys import PAYMENT_PAGE, fill_address, fill_login_form
from tests.e2e.test_shop_journey import READER, add_two_copies, shop  # noqa: F401  (shop: a fixture)
from tests.helpers import PASSWORD
from tests.shop import FR_ADDRESS

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("who", ["reader", "guest"])
def test_each_checkout_step_fits_a_phone_and_passes_axe(app, browser: Browser, live_server, shop, who):  # noqa: F811
    context = browser.new_context(base_url=live_server, viewport=PHONE)
    context.set_default_timeout(10_000)
    report = Report()
    try:
        prepare(context)
        page = context.new_page()
        if who == "reader":  # on a phone the header's links are folded into the menu
            page.goto("/auth/login")
            fill_login_form(page, READER[0], PASSWORD)
            page.get_by_role("button", name="Log in").click()
            page.wait_for_url(re.compile(r"/$"))
        add_two_copies(page, shop)
        page.goto("/cart")
        page.get_by_role("button", name="Check out").click()
        page.wait_for_url("**/checkout/address")
        check_page(page, who, page.url, report)
        if who == "guest":
            page.fill("#email", "guest@example.com")
        fill_address(page, FR_ADDRESS)
        page.get_by_role("button", name="Continue to shipping").click()
        expect(page.get_by_text("Colissimo: $9.00")).to_be_visible()
        check_page(page, who, page.url, report)
        page.get_by_role("button", name="Continue to review").click()
        expect(page.get_by_role("button", name=re.compile(r"^Pay \$"))).to_be_visible()
        check_page(page, who, page.url, report)
        page.get_by_role("button", name=re.compile(r"^Pay \$")).click()
        page.wait_for_url(PAYMENT_PAGE)
        check_page(page, who, page.url, report)
    finally:
        context.close()
    assert report.problems == [], "\n".join(report.problems)
