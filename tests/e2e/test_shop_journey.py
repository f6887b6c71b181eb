"""The bookshop end to end in a real browser: a reader checks out to France with a discount code, pays,
staff ship from the CLI, the reader follows the parcel and downloads the invoice; a visitor buys as a
guest with an email address and no account."""

from __future__ import annotations

import io
import re

import pytest
from playwright.sync_api import Page, expect
from pypdf import PdfReader
from sqlalchemy import select

from app.extensions import cache, db
from app.models import Order
from tests.e2e.journeys import PAYMENT_PAGE, fill_address, log_in, pay_for_order, text_of
from tests.factories import make_books
from tests.helpers import make_user, path_of
from tests.shop import FR_ADDRESS, US_ADDRESS, open_shop

pytestmark = pytest.mark.browser

READER = ("rosa@example.com", "Rosa Reader")


@pytest.fixture
def shop(app, live_app):
    """The shop ships to France (Colissimo $9, TVA 5.5%) and knows WELCOME10; Emma costs $20.00."""
    with app.app_context():
        open_shop()
        make_user(email=READER[0], name=READER[1])
        book_id = make_books([{"title": "Emma", "price": "20.00", "stock": 5}])[0].id
    with live_app.app_context():
        cache.clear()
    return book_id


def add_two_copies(page: Page, book_id: int) -> None:
    page.goto(f"/books/{book_id}")
    form = page.locator("form.add-to-cart")
    form.get_by_label("Quantity").fill("2")
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/cart/add")):
        form.get_by_role("button", name="Add to cart").click()


def through_the_steps_to_france(page: Page, email: str | None = None) -> None:
    page.goto("/cart")
    page.get_by_role("button", name="Check out").click()
    page.wait_for_url("**/checkout/address")
    if email is not None:
        page.fill("#email", email)
    fill_address(page, FR_ADDRESS)
    page.get_by_role("button", name="Continue to shipping").click()
    expect(page.get_by_text("Colissimo: $9.00")).to_be_visible()
    page.get_by_role("button", name="Continue to review").click()
    expect(page.get_by_role("button", name="Pay $51.70")).to_be_visible()  # $40 + $9 + TVA $2.70


def test_a_reader_checks_out_to_france_with_a_code_and_follows_the_parcel(app, page: Page, shop, inbox):
    log_in(page, *READER)
    add_two_copies(page, shop)
    through_the_steps_to_france(page)

    # A code refused in place, then the real one: the totals swap without a page load.
    page.fill("#code", "NOPE")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_text("We don't know the code NOPE")).to_be_visible()
    page.fill("#code", "WELCOME10")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("button", name="Pay $47.48")).to_be_visible()  # $36 + $9 + TVA $2.48
    page.get_by_role("button", name="Pay $47.48").click()
    page.wait_for_url(re.compile(r"/payments/simulated/cs_sim_\w+$"))
    order_id = pay_for_order(page, "$47.48")
    expect(page.get_by_role("region", name="Ships to")).to_contain_text("10 rue de Rivoli")

    # Staff ship it from the CLI.
    result = app.test_cli_runner().invoke(
        args=["orders", "ship", str(order_id), "--carrier", "La Poste", "--tracking", "6A12345678901"]
    )
    assert result.exit_code == 0, result.output

    page.goto(f"/orders/{order_id}")
    tracking = page.get_by_role("link", name="6A12345678901")
    expect(tracking).to_be_visible()
    assert "6A12345678901" in (tracking.get_attribute("href") or "")
    shipped = [m for m in inbox.wait_for(READER[0], count=2) if m["Subject"] == f"Order #{order_id} is on its way"]
    assert shipped and "6A12345678901" in text_of(shipped[0])

    with page.expect_download() as download:
        page.get_by_role("link", name="Download the invoice (PDF)").click()
    with open(download.value.path(), "rb") as pdf:
        text = "".join(part.extract_text() for part in PdfReader(io.BytesIO(pdf.read())).pages)
    assert f"#{order_id}" in text and "47.48" in text


def test_a_visitor_buys_as_a_guest_with_an_email(app, page: Page, shop, inbox):
    add_two_copies(page, shop)
    through_the_steps_to_france(page, email="guest@example.com")
    page.fill("#code", "WELCOME10")  # once per customer: the guest's email is the customer
    page.get_by_role("button", name="Apply").click()
    page.get_by_role("button", name="Pay $47.48").click()
    page.wait_for_url(PAYMENT_PAGE)  # a guest's order opens on the payment page without an account
    expect(page.locator("main")).to_contain_text("$47.48")
    page.get_by_role("button", name=re.compile("^Pay")).click()
    page.wait_for_url(re.compile(r"/orders/guest/"))  # back on the guest's own order page
    expect(page.get_by_text("Paid").first).to_be_visible()
    with app.app_context():
        order = db.session.scalar(select(Order))
        assert (order.user_id, order.guest_email, order.total_cents) == (None, "guest@example.com", 4748)
        assert (order.discount_code, order.discount_cents) == ("WELCOME10", 400)
    [receipt] = [m for m in inbox.wait_for("guest@example.com") if "receipt" in m["Subject"]]
    link = re.search(r"https?://\S+/orders/guest/\S+", text_of(receipt)).group(0)
    page.goto(path_of(link))
    expect(page.get_by_text("Paid").first).to_be_visible()
    expect(page.get_by_text("$47.48").first).to_be_visible()
    assert US_ADDRESS["city"] not in page.content()
