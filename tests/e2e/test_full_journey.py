"""One reader across the whole site, in a real browser, with screenshots of the main pages.

Register and confirm by email, browse and search the catalogue, buy a book on the simulated
gateway, start a club and give to it, join a reading contest, log a book, read the notifications.
With BC_SCREENSHOTS=1 (`make screenshots`) the pictures land in docs/screenshots/ (linked from the
README), the main pages at a desktop's and a phone's size.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from app.catalogue.services import book_data_from_row, upsert_books
from app.contests.services import create_contest, open_contest
from app.extensions import cache, db
from app.models import Book, ContestKind, Metric
from tests.e2e.journeys import add_to_cart, check_out, donate, fill_register_form, nav, pay_for_order
from tests.helpers import PASSWORD, link_in, make_user
from tests.shop import open_shop

pytestmark = pytest.mark.browser

READER = ("iris@example.com", "Iris Reader")
CLUB = "Harbour Book Circle"
CONTEST = "Autumn Pages Challenge"
# The main pages are also taken at a phone's size (390x844).
PHONE_TOO = {"home", "books", "book", "cart", "order", "club", "contest"}

SHELF = [
    {"isbn": "9780141439518", "title": "Pride and Prejudice", "authors": "Jane Austen", "price": "9.50",
     "stock": 3, "genres": "Classics;Romance", "description": "Elizabeth Bennet meets Mr Darcy."},
    {"isbn": "9780141441146", "title": "Jane Eyre", "authors": "Charlotte Brontë", "price": "7.99",
     "stock": 5, "genres": "Classics", "description": "An orphan becomes a governess at Thornfield."},
    {"isbn": "9780141439556", "title": "Wuthering Heights", "authors": "Emily Brontë", "price": "6.99",
     "stock": 4, "genres": "Classics", "description": "Love and revenge on the Yorkshire moors."},
    {"isbn": "9780143105954", "title": "The Moonstone", "authors": "Wilkie Collins", "price": "11.00",
     "stock": 6, "genres": "Mystery", "description": "A diamond goes missing."},
    {"isbn": "9780486282114", "title": "Frankenstein", "authors": "Mary Shelley", "price": "4.00",
     "stock": 5, "genres": "Classics;Horror", "description": "A creature made in a laboratory."},
    {"isbn": "9780141439600", "title": "A Tale of Two Cities", "authors": "Charles Dickens", "price": "8.25",
     "stock": 2, "genres": "Classics", "description": "London and Paris in the revolution."},
]  # fmt: skip


@pytest.fixture
def site(app, live_app):
    """Books on the shelf and an open reading contest run by an organiser; returns the contest id."""
    with app.app_context():
        upsert_books([book_data_from_row(row) for row in SHELF])
        organiser = make_user(email="org@example.com", name="Olga Organiser", is_admin=True)
        open_shop()
        now = datetime.now(UTC)
        contest = create_contest(
            title=CONTEST,
            kind=ContestKind.READERS,
            metric=Metric.PAGES_READ,
            starts_at=now - timedelta(days=1),
            ends_at=now + timedelta(days=14),
            description="Read as many pages as you can before the leaves are gone.",
            prize="A signed first edition",
            created_by=organiser,
        )
        open_contest(contest)
        contest_id = contest.id
    with live_app.app_context():
        cache.clear()
    return contest_id


def shoot(page: Page, screenshots, name: str) -> None:
    screenshots.take(page, name, phone=name in PHONE_TOO)


def test_one_reader_across_the_whole_site(app, page: Page, site, inbox, screenshots):
    email, name = READER

    # The home page, then registration; the confirmation link arrives by email.
    page.goto("/")
    expect(page).to_have_title(re.compile("Book Commerce"))
    shoot(page, screenshots, "home")
    page.goto("/auth/register")
    fill_register_form(page, name, email, PASSWORD, PASSWORD)
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url("**/auth/check-email?reason=register")
    (message,) = inbox.wait_for(email)
    page.goto(link_in(message, "/auth/verify/"))
    page.wait_for_url("**/account")  # the link signs the reader in
    expect(page.locator(".flashes")).to_contain_text(f"Thanks, {email} is confirmed.")
    expect(nav(page).get_by_role("link", name=name)).to_be_visible()

    # Browse the catalogue, then search as we type.
    nav(page).get_by_role("link", name="Books").click()
    page.wait_for_url("**/books")
    titles = page.locator("#results .book-card .book-title")
    expect(titles).to_have_count(len(SHELF))
    page.locator("#q").press_sequentially("bront", delay=50)
    expect(titles).to_have_count(2)
    expect(page).to_have_url(re.compile(r"q=bront"))
    shoot(page, screenshots, "books")

    # Open a book and put it in the cart.
    page.locator("#results .book-card").get_by_role("link", name="Jane Eyre").click()
    page.wait_for_url(re.compile(r"/books/\d+/jane-eyre$"))
    expect(page.get_by_role("heading", name="Jane Eyre")).to_be_visible()
    shoot(page, screenshots, "book")
    add_to_cart(page, 2)
    expect(page.locator("#cart-count")).to_have_text("2")

    # Check out and pay on the simulated gateway: the order is paid, the receipt comes by email.
    nav(page).get_by_role("link", name=re.compile("^Cart")).click()
    page.wait_for_url("**/cart")
    expect(page.locator("#cart-total")).to_have_text("$15.98")
    shoot(page, screenshots, "cart")
    check_out(page, "$15.98")
    order_id = pay_for_order(page, "$15.98")
    expect(page.locator("#order-status")).to_contain_text("Status: Paid")
    shoot(page, screenshots, "order")
    receipt = inbox.wait_for(email, count=2)[-1]
    assert receipt["Subject"] == f"Your Book Commerce receipt for order #{order_id}"
    with app.app_context():
        jane = db.session.scalar(db.select(Book).where(Book.title == "Jane Eyre"))
        assert jane.stock == 5 - 2

    # Start a club and give it $20.
    page.goto("/clubs/new")
    page.fill("#name", CLUB)
    page.fill("#description", "Classics by the sea, first Sunday of the month.")
    page.fill("#city", "Brighton")
    page.fill("#country", "United Kingdom")
    page.fill("#donation_goal", "200")
    page.get_by_role("button", name="Start the club").click()
    page.wait_for_url(re.compile(r"/clubs/harbour-book-circle$"))
    expect(page.locator(".flashes")).to_contain_text(f"{CLUB} is open.")
    donate(page, "harbour-book-circle", 20, "To start the shelf.")
    page.goto("/clubs/harbour-book-circle")
    expect(page.locator("#goal-label")).to_have_text("$20.00 of $200.00")
    shoot(page, screenshots, "club")

    # Find the reading contest and join it.
    page.goto("/contests")
    expect(page.get_by_role("heading", name="Contests", exact=True)).to_be_visible()
    shoot(page, screenshots, "contests")
    page.get_by_role("link", name=CONTEST).click()
    page.wait_for_url(f"**/contests/{site}")
    expect(page.get_by_role("heading", name=CONTEST)).to_contain_text("Open")
    page.locator("#enter").get_by_role("button", name="Join").click()
    expect(page.locator(".flashes")).to_contain_text("You are in the contest. Happy reading!")

    # Log a finished book: it counts for the contest.
    page.goto("/account/reading")
    page.fill("#title", "Jane Eyre")
    page.fill("#author", "Charlotte Brontë")
    page.fill("#pages", "532")
    page.get_by_role("button", name="Add to my log").click()
    expect(page.locator(".flashes")).to_contain_text("“Jane Eyre” is in your reading log.")
    expect(page.locator("main")).to_contain_text("by Charlotte Brontë")
    shoot(page, screenshots, "reading")
    page.goto(f"/contests/{site}")
    row = page.locator("#leaderboard tbody tr", has_text=name)
    expect(row.locator("td").nth(1)).to_have_text("532 pages", timeout=15_000)  # the standings poll (cached a few s)
    shoot(page, screenshots, "contest")

    # The notifications list what happened: the order and the gift.
    nav(page).get_by_role("link", name=re.compile("^Notifications")).click()
    page.wait_for_url("**/notifications")
    listed = page.locator("#notifications .notification-title")
    expect(listed.filter(has_text=f"receipt for order #{order_id}")).to_have_count(1)
    expect(listed.filter(has_text=CLUB)).not_to_have_count(0)
    shoot(page, screenshots, "notifications")

    # And the account page.
    nav(page).get_by_role("link", name=name).click()
    page.wait_for_url("**/account")
    expect(page.get_by_role("heading", name="Your account")).to_be_visible()
    shoot(page, screenshots, "account")
