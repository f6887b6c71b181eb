"""What a reader does in the browser, written once for every journey.

Log in, see a form swapped in place (not a page load), add to the cart, check out, pay on the
simulated gateway, give to a club, open a second window; and read the emails that follow.
"""

from __future__ import annotations

import re
import time

from playwright.sync_api import Browser, BrowserContext, Locator, Page, Response, expect

from tests.helpers import PASSWORD
from tests.shop import US_ADDRESS

PAYMENT_PAGE = re.compile(r"/payments/simulated/cs_sim_\w+$")


# ---- The page itself --------------------------------------------------------------------------


def nav(page: Page) -> Locator:
    """The header's main navigation."""
    return page.get_by_role("navigation", name="Main")


def mark_the_page(page: Page) -> None:
    """Leave a marker on ``window``: it survives an htmx swap and vanishes on a page load."""
    page.evaluate("window.__samePage = true")


def is_same_page(page: Page) -> bool:
    return page.evaluate("window.__samePage === true")


def click_in_place(page: Page, target: str, button: str) -> Response:
    """Click ``button`` inside ``target`` and wait until htmx has swapped ``target``; return the response.

    ``target`` is marked first, so the wait ends only when the marked element has been replaced (the
    next action must not type into a form that is about to be swapped out).
    """
    page.locator(target).evaluate("element => { element.dataset.stale = 'yes' }")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.locator(target).get_by_role("button", name=button).click()
    page.wait_for_function("() => document.querySelector('[data-stale]') === null")
    return answer.value


def new_window(browser: Browser, live_server: str) -> BrowserContext:
    """A second browser (its own cookies), for another reader or another tab of the same one."""
    context = browser.new_context(base_url=live_server, viewport={"width": 1200, "height": 900})
    context.set_default_timeout(10_000)
    return context


# ---- Accounts ---------------------------------------------------------------------------------


def fill_register_form(page: Page, name: str, email: str, password: str, confirm: str) -> None:
    page.fill("#name", name)
    page.fill("#email", email)
    page.fill("#password", password)
    page.fill("#confirm", confirm)


def fill_login_form(page: Page, email: str, password: str) -> None:
    page.fill("#email", email)
    page.fill("#password", password)


def log_in(page: Page, email: str, name: str, password: str = PASSWORD) -> None:
    """Log in from the log-in page and wait for the home page, the header naming the reader."""
    page.goto("/auth/login")
    fill_login_form(page, email, password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/$"))
    expect(nav(page).get_by_role("link", name=name)).to_be_visible()


# ---- Buying -----------------------------------------------------------------------------------


def add_to_cart(page: Page, copies: int) -> None:
    """On a book's page: add ``copies`` to the cart; the form answers in place."""
    form = page.locator("form.add-to-cart")
    form.get_by_label("Quantity").fill(str(copies))
    form.evaluate("element => { element.dataset.stale = 'yes' }")
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/cart/add")) as answer:
        form.get_by_role("button", name="Add to cart").click()
    assert answer.value.status == 200
    page.wait_for_function("() => document.querySelector('[data-stale]') === null")


def fill_address(page: Page, address: dict) -> None:
    """At the address step: a new address, typed in the country's own fields (swapped in by htmx)."""
    new = page.locator('input[name="address_id"][value="new"]')
    if new.count():
        new.check()
    if page.locator("#country_code").input_value() != address["country_code"]:
        page.locator("#address-fields").evaluate("element => { element.dataset.stale = 'yes' }")
        page.select_option("#country_code", address["country_code"])
        page.wait_for_function("() => document.querySelector('[data-stale]') === null")
    for name, value in address.items():
        if name == "country_code":
            continue
        field = page.locator(f"#{name}")
        if field.evaluate("element => element.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)


def check_out(page: Page, total: str, address: dict | None = None, method: str | None = None) -> None:
    """From the cart: the address step (``address`` typed, else the one preselected), the shipping step
    (``method``, else the cheapest), then Pay ``total`` on the review; arrives on the gateway's page."""
    page.get_by_role("button", name="Check out").click()  # a link styled (and announced) as a button
    page.wait_for_url("**/checkout/address")
    if address is None and not page.locator('input[name="address_id"]').count():
        address = US_ADDRESS  # nothing saved yet: a US address (free standard shipping, no tax)
    if address is not None:
        fill_address(page, address)
    page.get_by_role("button", name="Continue to shipping").click()
    expect(page.get_by_role("button", name="Continue to review")).to_be_visible()
    if method is not None:
        page.get_by_label(re.compile(f"^{method}")).check()
    page.get_by_role("button", name="Continue to review").click()
    expect(page.get_by_role("heading", name="Check out")).to_be_visible()
    page.get_by_role("button", name=f"Pay {total}").click()
    page.wait_for_url(PAYMENT_PAGE)
    expect(page.get_by_role("heading", name="Simulated payment")).to_be_visible()


def pay_for_order(page: Page, total: str) -> int:
    """On the gateway's page: pay ``total``; returns the id of the order page it leads back to."""
    page.get_by_role("button", name=f"Pay {total}").click()
    page.wait_for_url(re.compile(r"/orders/\d+$"))
    return int(page.url.rsplit("/", 1)[1])


# ---- Giving -----------------------------------------------------------------------------------


def give_on_the_form(page: Page, dollars: int, message: str | None = None) -> None:
    """On a club's donate page: give ``dollars`` (with ``message``) and pay on the simulated gateway."""
    page.fill("#amount", str(dollars))
    if message is not None:
        page.fill("#message", message)
    page.get_by_role("button", name="Continue to payment").click()
    page.wait_for_url(PAYMENT_PAGE)
    expect(page.get_by_role("heading", name="Simulated payment")).to_be_visible()
    page.get_by_role("button", name=f"Pay ${dollars}.00").click()
    page.wait_for_url(re.compile(r"/donations/\d+$"))
    expect(page.locator("#donation-status")).to_contain_text(f"Your ${dollars}.00 is in")


def donate(page: Page, slug: str, dollars: int, message: str | None = None) -> None:
    """Open the club's donate page and give ``dollars``, paying on the simulated gateway."""
    page.goto(f"/clubs/{slug}/donate")
    give_on_the_form(page, dollars, message)


# ---- The emails that follow -------------------------------------------------------------------


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def emails(inbox, address: str, subject: str) -> list:
    return [m for m in inbox.to(address) if m["Subject"] == subject]


def email_with_subject(inbox, address: str, subject: str, timeout: float = 10.0):
    """The one email to ``address`` whose subject is ``subject``, waiting for it to arrive."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = emails(inbox, address, subject)
        if found:
            assert len(found) == 1, f"{len(found)} emails {subject!r} to {address}"
            return found[0]
        time.sleep(0.05)
    raise AssertionError(f"no email {subject!r} to {address}; got {[m['Subject'] for m in inbox.to(address)]}")
