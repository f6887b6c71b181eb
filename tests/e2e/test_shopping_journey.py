"""A reader buys books, in a real browser: search as you type, add to the cart, check out, pay."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from app.catalogue.services import book_data_from_row, upsert_books
from app.extensions import cache, db
from app.models import Book
from app.payments.fulfilment import handle_event
from app.payments.simulated import simulated_event
from tests.e2e.journeys import add_to_cart, check_out, is_same_page, log_in, mark_the_page, nav, pay_for_order
from tests.helpers import make_user
from tests.shop import open_shop

pytestmark = pytest.mark.browser

READER = ("rosa@example.com", "Rosa Reader")

SHELF = [
    {"isbn": "9780141439518", "title": "Pride and Prejudice", "authors": "Jane Austen", "price": "9.50",
     "stock": 3, "genres": "Classics", "description": "Elizabeth Bennet meets Mr Darcy."},
    {"isbn": "9780140449136", "title": "Crime and Punishment", "authors": "Fyodor Dostoevsky", "price": "15.00",
     "stock": 4, "genres": "Classics", "description": "Raskolnikov in Saint Petersburg."},
    {"isbn": "9780486282114", "title": "Frankenstein", "authors": "Mary Shelley", "price": "4.00",
     "stock": 5, "genres": "Classics;Horror", "description": "A creature made in a laboratory."},
    {"isbn": "9780141439600", "title": "A Tale of Two Cities", "authors": "Charles Dickens", "price": "8.25",
     "stock": 2, "genres": "Classics", "description": "London and Paris in the revolution."},
    {"isbn": "9780143105954", "title": "The Moonstone", "authors": "Wilkie Collins", "price": "11.00",
     "stock": 6, "genres": "Mystery", "description": "A diamond goes missing."},
]  # fmt: skip


# ---- Setting the scene ----------------------------------------------------------------------


@pytest.fixture
def shop(app, live_app):
    """The books above and a verified reader; returns {title: book id}."""
    with app.app_context():
        upsert_books([book_data_from_row(row) for row in SHELF])
        make_user(email=READER[0], name=READER[1])
        open_shop()
        ids = {book.title: book.id for book in db.session.scalars(db.select(Book))}
    # The live server's catalogue cache is its own: forget pages it rendered for earlier tests.
    with live_app.app_context():
        cache.clear()
    return ids


def stock_of(app, book_id: int) -> int:
    with app.app_context():
        return db.session.get(Book, book_id).stock


# ---- What a reader does ---------------------------------------------------------------------


def fields_overlapping_the_results(page: Page) -> list[str]:
    return page.evaluate(
        """() => {
            const left = document.querySelector("#results").getBoundingClientRect().left;
            return [...document.querySelectorAll("#catalogue-form *")]
                .filter(el => { const box = el.getBoundingClientRect(); return box.width > 0 && box.right > left; })
                .map(el => el.id || el.textContent.trim() || el.tagName);
        }"""
    )


def card_titles(page: Page):
    return page.locator("#results .book-card .book-title")


# ---- Journeys -------------------------------------------------------------------------------


def test_search_add_to_cart_check_out_and_pay(app, page: Page, shop, inbox, screenshots):
    pride = shop["Pride and Prejudice"]
    log_in(page, *READER)

    # The catalogue lists every book.
    nav(page).get_by_role("link", name="Books").click()
    page.wait_for_url("**/books")
    expect(card_titles(page)).to_have_count(len(SHELF))
    # The filters sit in a search landmark, in their own column beside the results.
    expect(page.get_by_role("search").locator("#q")).to_be_visible()
    assert fields_overlapping_the_results(page) == [], "the search form spills over the results"
    mark_the_page(page)

    # Typing a partial word searches as we type: the results change in place, the URL follows.
    page.locator("#q").press_sequentially("prej", delay=60)
    expect(card_titles(page)).to_have_text(["Pride and Prejudice"])
    expect(page.locator("#results .results-summary")).to_contain_text("1 book for “prej”")
    expect(page).to_have_url(re.compile(r"/books\?(.*&)?q=prej(&|$)"))
    assert is_same_page(page), "searching reloaded the page instead of swapping the results"
    screenshots.take(page, "books")

    # Back goes to the unfiltered list...
    page.go_back()
    expect(page).to_have_url(re.compile(r"/books$"))
    expect(card_titles(page)).to_have_count(len(SHELF))
    expect(page.locator("#q")).to_have_value("")
    # ...and Forward to the search again (htmx restores history in place: still the same page).
    page.go_forward()
    expect(page).to_have_url(re.compile(r"q=prej"))
    expect(card_titles(page)).to_have_text(["Pride and Prejudice"])
    expect(page.locator("#q")).to_have_value("prej")
    assert is_same_page(page), "Back and Forward reloaded the page"

    # Open the book and add two copies: the badge in the header counts them without a reload.
    page.locator("#results .book-card").get_by_role("link", name="Pride and Prejudice").click()
    page.wait_for_url(f"**/books/{pride}/pride-and-prejudice")
    expect(page.get_by_role("heading", name="Pride and Prejudice")).to_be_visible()
    expect(page.locator("#cart-count")).to_have_text("0")
    mark_the_page(page)
    add_to_cart(page, 2)
    expect(page.locator("form.add-to-cart [role=status]")).to_contain_text("Added to your cart.")
    expect(page.locator("#cart-count")).to_have_text("2")
    expect(page.locator("#toasts")).to_contain_text("Added “Pride and Prejudice” to your cart.")
    assert is_same_page(page), "adding to the cart reloaded the page"

    # The cart shows the line and its total.
    nav(page).get_by_role("link", name=re.compile("^Cart")).click()
    page.wait_for_url("**/cart")
    expect(page.get_by_label("Quantity of Pride and Prejudice")).to_have_value("2")
    expect(page.locator("#cart-total")).to_have_text("$19.00")
    screenshots.take(page, "cart")

    # Check out and pay on the simulated gateway's page.
    check_out(page, "$19.00")
    order_id = pay_for_order(page, "$19.00")
    expect(page.get_by_role("heading", name=f"Order #{order_id}")).to_be_visible()
    expect(page.locator("#order-status")).to_contain_text("Status: Paid")
    expect(page.locator("#order-status")).to_contain_text("Your receipt is on its way")
    expect(page.locator("#cart-count")).to_have_text("0")
    screenshots.take(page, "order")

    # The receipt arrives by SMTP with the total; the copies left the stock.
    (receipt,) = inbox.wait_for(READER[0])
    assert receipt["Subject"] == f"Your Book Commerce receipt for order #{order_id}"
    text = receipt.get_body(preferencelist=("plain",)).get_content()
    assert "2 × Pride and Prejudice" in text
    assert "Total: $19.00" in text
    assert stock_of(app, pride) == 3 - 2


def test_declined_payment_can_be_tried_again(app, page: Page, shop, inbox):
    moonstone = shop["The Moonstone"]
    log_in(page, *READER)
    page.goto(f"/books/{moonstone}/the-moonstone")
    add_to_cart(page, 1)
    expect(page.locator("#cart-count")).to_have_text("1")
    page.goto("/cart")

    check_out(page, "$11.00")
    page.get_by_role("button", name="Decline").click()
    page.wait_for_url(re.compile(r"/orders/\d+$"))
    expect(page.locator("#order-status")).to_contain_text("The payment did not go through")
    expect(page.locator("#order-status").get_by_role("button", name="Try paying again")).to_be_visible()
    assert stock_of(app, moonstone) == 6

    # Trying again leads back to the payment page.
    page.get_by_role("button", name="Try paying again").click()
    page.wait_for_url(re.compile(r"/payments/simulated/cs_sim_\w+$"))
    expect(page.get_by_role("button", name="Pay $11.00")).to_be_visible()


def test_order_page_updates_itself_when_the_payment_lands(app, page: Page, shop, inbox):
    frankenstein = shop["Frankenstein"]
    log_in(page, *READER)
    page.goto(f"/books/{frankenstein}/frankenstein")
    add_to_cart(page, 3)
    expect(page.locator("#cart-count")).to_have_text("3")
    page.goto("/cart")
    check_out(page, "$12.00")
    session_id = page.url.rsplit("/", 1)[1]

    # Leave the payment page: the order waits, and its status section polls for news.
    page.get_by_role("link", name="Cancel and go back").click()
    page.wait_for_url(re.compile(r"/orders/\d+\?cancelled=1$"))
    order_id = int(re.search(r"/orders/(\d+)", page.url).group(1))
    expect(page.locator("#order-status")).to_contain_text("Status: Waiting for payment")
    expect(page.locator("#order-status")).to_have_attribute("hx-trigger", "every 2s")
    mark_the_page(page)

    # The gateway reports the payment (as a webhook would): the open page shows it within a poll.
    with app.app_context():
        event = simulated_event("checkout.session.completed", session_id, f"order:{order_id}", 1200, True)
        assert handle_event("simulated", event) == "paid"
    expect(page.locator("#order-status")).to_contain_text("Status: Paid", timeout=6_000)
    expect(page.locator("#order-status")).not_to_have_attribute("hx-trigger", "every 2s")
    assert is_same_page(page), "the status update reloaded the page"
    (receipt,) = inbox.wait_for(READER[0])
    assert "Total: $12.00" in receipt.get_body(preferencelist=("plain",)).get_content()
    assert stock_of(app, frankenstein) == 5 - 3
