"""The home page and My clubs in a phone-sized browser: everything fits 360 px, the city choice works."""

from __future__ import annotations

from datetime import date

import pytest
from playwright.sync_api import Page, expect

from app.clubs.services import join_club
from app.contests.reading import log_book, set_goal
from app.extensions import db
from app.models import Club, MemberStatus
from tests.clubs import add_member, start_club
from tests.e2e.journeys import log_in
from tests.factories import make_books
from tests.helpers import make_user

pytestmark = pytest.mark.browser

READER = ("rosa@example.com", "Rosa Reader")
LONG = "The Extraordinarily Long-Named Society of Readers Who Never Stop Reading Anything"

# Elements of <main> that reach past the right edge of the window (a horizontal scroll).
OVERFLOWING = """() => [...document.querySelectorAll('main *')]
  .filter(el => el.getBoundingClientRect().right > window.innerWidth + 1)
  .map(el => el.tagName + '.' + el.className)"""


@pytest.fixture
def scene(app):
    with app.app_context():
        rosa = make_user(email=READER[0], name=READER[1])
        make_books([{"title": f"{LONG} {n}"} for n in range(3)])
        owned = start_club(owner_email=READER[0], name=LONG, city="Lyon")
        add_member(owned.id, "p1@example.com", "Pat One", status=MemberStatus.PENDING)
        add_member(owned.id, "p2@example.com", "Pat Two", status=MemberStatus.PENDING)
        other = start_club(name="Paris Readers", city="Paris", donation_goal_cents=50_000)
        join_club(db.session.get(Club, other.id), rosa)
        set_goal(rosa, date.today().year, 12)
        log_book(rosa, title=LONG, author="Someone", pages=300, finished_on=date.today())


def fits(page: Page) -> None:
    assert page.evaluate(OVERFLOWING) == []


def test_the_home_page_fits_a_phone_and_chooses_clubs_by_city(page: Page, scene):
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Books, clubs and the readers who run them")
    expect(page.get_by_role("heading", name="New books")).to_be_visible()
    fits(page)
    page.select_option("#home-city", "Lyon")
    page.get_by_role("button", name="Show clubs").click()
    page.wait_for_url("**/?city=Lyon")
    expect(page.get_by_role("heading", name="Clubs near Lyon")).to_be_visible()
    clubs = page.locator("section", has=page.get_by_role("heading", name="Clubs near Lyon"))
    expect(clubs).to_contain_text(LONG)
    expect(clubs).not_to_contain_text("Paris Readers")
    fits(page)


def test_a_reader_home_and_my_clubs_fit_a_phone(page: Page, scene):
    log_in(page, *READER)
    page.set_viewport_size({"width": 360, "height": 740})
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome back, Rosa Reader.")
    expect(page.get_by_role("link", name="2 requests waiting")).to_be_visible()
    fits(page)
    page.goto("/clubs/mine")
    expect(page.get_by_role("heading", level=1)).to_have_text("My clubs")
    expect(page.get_by_text("$0.00 of $500.00 raised")).to_be_visible()
    fits(page)
