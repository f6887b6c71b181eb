"""Every page a visitor, a reader, a club owner and an admin can reach, at 360x640 and 1280x800.

The demo data (clubs with members and donations, contests with standings, the catalogue) plus a
paid order give the pages something to show. See crawl.py for what is checked on each page.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser

from app.addresses.services import default_address
from app.extensions import cache, db
from app.models import Book, User
from app.seed import DEMO_PASSWORD, seed_demo
from tests.e2e.crawl import PHONE, Report, check_page, crawl, prepare
from tests.e2e.journeys import fill_login_form
from tests.helpers import login_as
from tests.shop import pay

pytestmark = pytest.mark.browser

ROLES = {
    "visitor": None,
    "reader": ("reader@example.com", "Rosa Reader"),
    "club owner": ("owner@example.com", "Omar Owner"),
    "admin": ("admin@example.com", "Ada Admin"),
}
SHELL_USER_AGENT = "Mozilla/5.0 (Linux; Android 14) BookCommerceShell/1.0"


@pytest.fixture
def demo_site(app, live_app):
    """The demo data, and a paid order of the reader's."""
    with app.app_context():
        seed_demo()
        book_id = db.session.scalar(db.select(Book.id).where(Book.stock > 0).order_by(Book.id).limit(1))
    client = app.test_client()
    login_as(client, "reader@example.com", DEMO_PASSWORD)
    assert client.post("/cart/add", data={"book_id": book_id, "quantity": 1}).status_code == 303
    # Through the checkout steps: the reader's default address (seeded), the cheapest method.
    assert client.get("/checkout/address").status_code == 200
    with app.app_context():
        reader = db.session.scalar(db.select(User).where(User.email == "reader@example.com"))
        address_id = default_address(reader).id
    assert client.post("/checkout/address", data={"address_id": address_id}).status_code == 303
    assert client.post("/checkout/shipping", data={"method_id": cheapest_method(client)}).status_code == 303
    gateway = pay(client).headers["Location"]
    assert client.post(gateway, data={"action": "pay"}).status_code == 303
    with live_app.app_context():
        cache.clear()


def cheapest_method(client) -> str:
    """The method the shipping step checks first (the cheapest)."""
    page = client.get("/checkout/shipping").get_data(as_text=True)
    return re.search(r'name="method_id" value="(\d+)" checked', page).group(1)


def sign_in(context, email: str) -> None:
    page = context.new_page()
    page.goto("/auth/login")
    fill_login_form(page, email, DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/$"))
    page.close()


def check_every_page(browser: Browser, live_server: str, role: str, **context_options) -> list[str]:
    context = browser.new_context(base_url=live_server, viewport=PHONE, **context_options)
    context.set_default_timeout(10_000)
    try:
        prepare(context)
        who = ROLES[role]
        if who:
            sign_in(context, who[0])
        widths = (PHONE,) if context_options.get("user_agent") else None
        report = crawl(context, live_server, role, **({"widths": widths} if widths else {}))
    finally:
        context.close()
    assert len(report.visited) >= 5, f"{role}: only {report.visited} reached"
    return report.problems


def test_the_checks_notice_what_a_reader_would(browser):
    """The crawler's own test: a page too wide for a phone, with a bare title and axe failures."""
    context = browser.new_context(viewport=PHONE)
    prepare(context)
    page = context.new_page()
    page.set_content(
        '<html lang="en"><head><title>Book Commerce</title></head><body><main><h1>Wide</h1>'
        '<div class="too-wide" style="width:900px">wide</div><img src="data:,"><button></button></main></body></html>'
    )
    report = Report()
    check_page(page, "test", "about:blank", report)
    context.close()
    assert report.problems == [
        "test about:blank: scrolls sideways: 908px in a 360px window (too wide: div.too-wide)",
        'test about:blank: tap targets under 44px high: button "" 6px',
        "test about:blank: the title 'Book Commerce' does not name the page",
        "test about:blank: axe critical button-name: Buttons must have discernible text (button)",
        "test about:blank: axe critical image-alt: Images must have alternative text (img)",
    ]


@pytest.mark.parametrize("role", ROLES)
def test_every_page_fits_a_phone_and_passes_axe(browser, live_server, demo_site, role):
    problems = check_every_page(browser, live_server, role)
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)


def test_every_page_in_the_mobile_shell_fits_a_phone(browser, live_server, demo_site):
    problems = check_every_page(browser, live_server, "reader", user_agent=SHELL_USER_AGENT)
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)
