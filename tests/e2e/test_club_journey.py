"""Two readers and a private club, in a real browser: ask to join, approve, donate, offer a book."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.journeys import (
    click_in_place,
    email_with_subject,
    give_on_the_form,
    is_same_page,
    log_in,
    mark_the_page,
    new_window,
    text_of,
)
from tests.helpers import make_user

pytestmark = pytest.mark.browser

OWNER = ("ada@example.com", "Ada Owner")
MEMBER = ("ben@example.com", "Ben Bookworm")
CLUB = "Night Owls Readers"
QUESTION = "Which book kept you up all night?"
ANSWER = "The Moonstone, twice."


# ---- Setting the scene ----------------------------------------------------------------------


@pytest.fixture
def readers(app):
    """Two verified readers: the club's future owner and a reader who will ask to join."""
    with app.app_context():
        for email, name in (OWNER, MEMBER):
            make_user(email=email, name=name)


# ---- The journey ----------------------------------------------------------------------------


def test_private_club_join_approve_donate_offer_and_accept(
    page: Page, browser: Browser, live_server, readers, inbox, screenshots
):
    owner_page = page

    # Ada starts a private club with a $100 goal and one question for those who ask to join.
    log_in(owner_page, *OWNER)
    owner_page.goto("/clubs/new")
    expect(owner_page.get_by_role("heading", name="Start a club")).to_be_visible()
    owner_page.fill("#name", CLUB)
    owner_page.fill("#description", "We read mysteries after dark.")
    owner_page.fill("#city", "Porto")
    owner_page.fill("#country", "Portugal")
    owner_page.get_by_role("radio", name=re.compile("^Private")).check()
    owner_page.fill("#donation_goal", "100")
    owner_page.fill("#join_questions", QUESTION)
    owner_page.get_by_role("button", name="Start the club").click()
    owner_page.wait_for_url(re.compile(r"/clubs/night-owls-readers$"))
    club_path = "/clubs/night-owls-readers"
    expect(owner_page.get_by_role("heading", name=CLUB)).to_contain_text("Private")
    expect(owner_page.locator(".flashes")).to_contain_text(f"{CLUB} is open.")
    expect(owner_page.locator("#goal-label")).to_have_text("$0.00 of $100.00")

    member_context = new_window(browser, live_server)
    try:
        member_page = member_context.new_page()

        # Ben sees only the name and the place, and the form to ask to join.
        log_in(member_page, *MEMBER)
        member_page.goto(club_path)
        expect(member_page.get_by_role("heading", name=CLUB)).to_be_visible()
        expect(member_page.locator(".club-place")).to_have_text("Porto, Portugal")
        expect(member_page.get_by_text("This club is private")).to_be_visible()
        expect(member_page.locator("#goal-progress")).to_have_count(0)
        expect(member_page.get_by_role("heading", name="The shelf")).to_have_count(0)
        expect(member_page.get_by_role("navigation", name="Club")).to_have_count(0)
        assert member_page.request.get(f"{club_path}/members").status == 404

        # He answers the club's question and asks to join.
        join_form = member_page.locator("#join-form")
        join_form.get_by_label(QUESTION).fill(ANSWER)
        join_form.get_by_role("button", name="Ask to join").click()
        expect(member_page.locator(".flashes")).to_contain_text("Your request is sent.")
        expect(member_page.locator("#membership")).to_contain_text("Your request is waiting")
        expect(member_page.locator("#join-form")).to_have_count(0)

        # Ada hears of it by email, with the answer, and approves Ben inline on the members page.
        request_email = email_with_subject(inbox, OWNER[0], f"{MEMBER[1]} asks to join {CLUB}")
        assert QUESTION in text_of(request_email)
        assert ANSWER in text_of(request_email)
        assert f"{club_path}/members" in text_of(request_email)
        owner_page.goto(f"{club_path}/members")
        expect(owner_page.get_by_role("heading", name=f"Members of {CLUB}")).to_be_visible()
        request_row = owner_page.locator(".request-row", has_text=MEMBER[1])
        expect(request_row).to_contain_text(QUESTION)
        expect(request_row).to_contain_text(ANSWER)
        screenshots.take(owner_page, "members")
        row_id = request_row.get_attribute("id")
        mark_the_page(owner_page)
        answer = click_in_place(owner_page, f"#{row_id}", "Approve")
        assert answer.status == 200
        expect(owner_page.locator(f"#{row_id}")).to_have_text(f"{MEMBER[1]} is now a member.")
        expect(owner_page.locator(f"#{row_id}").get_by_role("button")).to_have_count(0)
        expect(owner_page.locator("#toasts")).to_contain_text(f"{MEMBER[1]} is now a member.")
        assert is_same_page(owner_page), "approving reloaded the members page"
        welcome = text_of(email_with_subject(inbox, MEMBER[0], f"Your request to join {CLUB}"))
        assert f"{CLUB} accepted your request" in welcome

        # Ben reloads the club page: now he sees the inside.
        member_page.reload()
        expect(member_page.locator("#membership")).to_contain_text("You are a member of this club.")
        expect(member_page.get_by_role("heading", name="The shelf")).to_be_visible()
        expect(member_page.locator("#goal-label")).to_have_text("$0.00 of $100.00")

        # He gives $25 with a message, paying on the simulated gateway.
        member_page.get_by_role("navigation", name="Club").get_by_role("button", name="Donate").click()
        member_page.wait_for_url(f"**{club_path}/donate")
        expect(member_page.locator("#anonymous")).not_to_be_checked()
        give_on_the_form(member_page, 25, "For the next mystery.")
        expect(member_page.locator("#donation-status")).to_contain_text("Thank you!")

        # The club page's progress bar shows 25 of 100.
        member_page.goto(club_path)
        progress = member_page.locator("#goal-progress")
        expect(progress).to_have_attribute("value", "2500")
        expect(progress).to_have_attribute("max", "10000")
        assert progress.evaluate("bar => bar.position") == pytest.approx(0.25)
        expect(member_page.locator("#goal-label")).to_have_text("$25.00 of $100.00")
        expect(member_page.locator(".recent-donations")).to_contain_text(f"{MEMBER[1]} gave $25.00")
        expect(member_page.locator(".recent-donations")).to_contain_text("For the next mystery.")

        # Ada hears of the gift, with Ben's name (he did not give anonymously) and the amount.
        notice = text_of(email_with_subject(inbox, OWNER[0], f"{CLUB} received a donation"))
        assert f"{MEMBER[1]} gave $25.00 to {CLUB}" in notice
        assert "For the next mystery." in notice

        # Ben offers a book by title, author and condition.
        member_page.get_by_role("navigation", name="Club").get_by_role("button", name="Offer a book").click()
        member_page.wait_for_url(f"**{club_path}/offers")
        member_page.fill("#title", "The Woman in White")
        member_page.fill("#author", "Wilkie Collins")
        member_page.select_option("#condition", "good")
        answer = click_in_place(member_page, "#offer-section", "Offer this book")
        assert answer.status == 200
        expect(member_page.locator(".my-offers")).to_contain_text("“The Woman in White”")
        expect(member_page.locator(".my-offers")).to_contain_text("Pending")
        expect(member_page.locator("#title")).to_have_value("")

        # Ada accepts it inline on the offers page.
        owner_page.goto(f"{club_path}/offers")
        offer_row = owner_page.locator("table.offers tbody tr", has_text="The Woman in White")
        expect(offer_row).to_contain_text(MEMBER[1])
        expect(offer_row).to_contain_text("Wilkie Collins")
        row_id = offer_row.get_attribute("id")
        mark_the_page(owner_page)
        answer = click_in_place(owner_page, f"#{row_id}", "Accept “The Woman in White”")
        assert answer.status == 200
        expect(owner_page.locator(f"#{row_id}")).to_have_text("Accepted “The Woman in White”: it is on the shelf.")
        assert is_same_page(owner_page), "accepting the offer reloaded the offers page"

        # The book is on the club's shelf, and Ben hears the news.
        member_page.goto(club_path)
        expect(member_page.locator(".club-shelf")).to_contain_text("The Woman in White")
        expect(member_page.locator(".club-shelf")).to_contain_text("by Wilkie Collins")
        expect(member_page.locator("#goal-label")).to_have_text("$25.00 of $100.00")
        screenshots.take(member_page, "club")
        decision = text_of(email_with_subject(inbox, MEMBER[0], f"{CLUB} accepted your book “The Woman in White”"))
        assert "It is on the club's shelf now." in decision
    finally:
        member_context.close()
