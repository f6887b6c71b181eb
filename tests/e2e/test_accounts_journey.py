"""A reader's account, in a real browser: register, confirm, log in, edit the profile, log out."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.journeys import (
    click_in_place,
    fill_login_form,
    fill_register_form,
    is_same_page,
    mark_the_page,
    nav,
)
from tests.helpers import PASSWORD, link_in, make_user

pytestmark = pytest.mark.browser


# ---- The smoke test comes first: a Chromium/Playwright mismatch shows up here ------------------


def test_browser_smoke(page: Page):
    response = page.goto("/")
    assert response is not None and response.status == 200
    expect(page).to_have_title(re.compile("Book Commerce"))
    assert page.evaluate("typeof window.htmx") == "object", "htmx did not load in Chromium"


# ---- Journeys -------------------------------------------------------------------------------


def test_register_confirm_log_in_edit_profile_and_log_out(page: Page, inbox, screenshots):
    email = "nina@example.com"

    # An invalid form comes back in place, with the error and what was typed.
    page.goto("/auth/register")
    mark_the_page(page)
    fill_register_form(page, "Nina New", email, PASSWORD, "not the same password")
    answer = click_in_place(page, "#register-form", "Create account")
    assert answer.status == 422
    # htmx sends the CSRF token as a header too (hx-headers:inherited on <body>).
    body_headers = json.loads(page.get_attribute("body", "hx-headers:inherited"))
    assert answer.request.headers.get("x-csrftoken") == body_headers["X-CSRFToken"]
    expect(page.locator("#register-form")).to_contain_text("The passwords do not match.")
    expect(page.locator("#confirm")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#name")).to_have_value("Nina New")
    assert is_same_page(page), "the invalid form reloaded the page instead of swapping in place"

    # The valid form sends us to check our email.
    page.fill("#password", PASSWORD)
    page.fill("#confirm", PASSWORD)
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url("**/auth/check-email?reason=register")
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()

    # The link in the email confirms the address and signs the reader in.
    (message,) = inbox.wait_for(email)
    link = link_in(message, "/auth/verify/")
    page.goto(link)
    page.wait_for_url("**/account")
    expect(page.locator(".flashes")).to_contain_text(f"Thanks, {email} is confirmed.")
    expect(nav(page).get_by_role("link", name="Nina New")).to_be_visible()
    nav(page).get_by_role("button", name="Log out").click()
    expect(page.locator(".flashes")).to_contain_text("You are logged out on every device.")

    # It works once: a second visit says so, signs nobody in, and the log-in form has the address.
    page.goto(link)
    page.wait_for_url("**/auth/login")
    expect(page.locator(".flashes")).to_contain_text("This link was already used")
    expect(page.locator("#email")).to_have_value(email)

    fill_login_form(page, email, PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/$"))
    expect(page.get_by_role("heading", name="Welcome back, Nina New.")).to_be_visible()
    expect(nav(page).get_by_role("link", name="Nina New")).to_be_visible()

    # Edit the profile. CSRF protection is on: a post without the token is refused...
    refused = page.request.post("/account", form={"name": "Mallory", "email": email, "time_zone": "UTC"})
    assert refused.status == 400
    # ...so with the hidden field removed, the token in htmx's header alone gets the form through.
    nav(page).get_by_role("link", name="Nina New").click()
    page.wait_for_url("**/account")
    expect(page.get_by_role("heading", name="Your account")).to_be_visible()
    expect(page.locator("#profile-form #email")).to_have_value(email)
    page.fill("#profile-form #name", "Nina Novel")
    page.fill("#profile-form #bio", "Reads crime novels on the train.")
    page.select_option("#profile-form #time_zone", "Europe/Lisbon")
    page.evaluate("document.querySelector('#profile-form input[name=csrf_token]').remove()")
    page.get_by_role("button", name="Save profile").click()
    expect(page.locator(".flashes")).to_contain_text("Your profile is saved.")
    expect(nav(page).get_by_role("link", name="Nina Novel")).to_be_visible()
    expect(page.locator("#profile-form #bio")).to_have_value("Reads crime novels on the train.")
    expect(page.locator("#profile-form #time_zone")).to_have_value("Europe/Lisbon")
    screenshots.take(page, "account")

    # Log out: the header offers to log in again.
    nav(page).get_by_role("button", name="Log out").click()
    expect(page.locator(".flashes")).to_contain_text("You are logged out on every device.")
    expect(nav(page).get_by_role("link", name="Log in")).to_be_visible()
    expect(nav(page).get_by_role("link", name="Nina Novel")).to_have_count(0)


def test_wrong_credentials_say_the_same_thing_and_repeated_tries_slow_down(app, page: Page):
    with app.app_context():
        make_user(email="reader@example.com", name="Rosa Reader")

    page.goto("/auth/login")
    mark_the_page(page)

    # A wrong password and an unknown address get the same answer (no account enumeration).
    fill_login_form(page, "reader@example.com", "not my password at all")
    assert click_in_place(page, "#login-form", "Log in").status == 422
    expect(page.locator("#login-form [role=alert]")).to_have_text("Invalid email or password.")
    expect(page.locator("#email")).to_have_value("reader@example.com")

    fill_login_form(page, "nobody@example.com", "not my password at all")
    assert click_in_place(page, "#login-form", "Log in").status == 422
    expect(page.locator("#email")).to_have_value("nobody@example.com")
    expect(page.locator("#login-form [role=alert]")).to_have_text("Invalid email or password.")
    assert is_same_page(page), "a wrong log-in reloaded the page instead of swapping the form"

    # The limit is per account: after five failures for one address, the sixth is refused.
    statuses = []
    for attempt in range(5):
        fill_login_form(page, "reader@example.com", f"wrong guess number {attempt}")
        statuses.append(click_in_place(page, "#login-form", "Log in").status)
        if statuses[-1] == 429:
            break
    assert statuses == [422, 422, 422, 422, 429]
    expect(page.get_by_role("heading", name="Slow down a little")).to_be_visible()
    expect(page).to_have_title(re.compile("Too Many Requests"))
    # The error page takes the place of the page's content, not of the form inside it.
    expect(page.locator("#login-form")).to_have_count(0)
    expect(page.get_by_role("navigation", name="Main")).to_have_count(1)
    expect(page.locator("main")).to_have_count(1)
