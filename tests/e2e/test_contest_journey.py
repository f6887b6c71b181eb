"""Two clubs race for donations, in a real browser: enter, watch the live leaderboard, see who won."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Browser, Page, expect

from app.clubs.services import create_club
from app.contests.services import create_contest, enter_contest, open_contest
from app.models import ContestKind, Metric, Scoring
from tests.e2e.journeys import donate, emails, is_same_page, log_in, mark_the_page, new_window, text_of
from tests.helpers import make_user

pytestmark = pytest.mark.browser

ADA = ("ada@example.com", "Ada Owner")
BO = ("bo@example.com", "Bo Owner")
DONOR = ("dee@example.com", "Dee Donor")
PARIS = "Paris Page Turners"
LYON = "Lyon Readers"
TITLE = "The Great Autumn Fund Race"
SECONDS_LEFT = 40  # the window closes this long after the scene is set: the test waits for it


# ---- Setting the scene ----------------------------------------------------------------------


@pytest.fixture
def race(app):
    """Ada's and Bo's clubs, a donor, and an open money contest that ends in ``SECONDS_LEFT`` s.

    Bo has entered Lyon already; Ada enters Paris herself, in the browser. Returns (contest id, end)."""
    with app.app_context():
        ada = make_user(email=ADA[0], name=ADA[1])
        bo = make_user(email=BO[0], name=BO[1])
        make_user(email=DONOR[0], name=DONOR[1])
        paris = create_club(ada, name=PARIS, city="Paris", country="France")
        lyon = create_club(bo, name=LYON, city="Lyon", country="France")
        now = datetime.now(UTC)
        contest = create_contest(
            title=TITLE,
            kind=ContestKind.CLUBS,
            metric=Metric.MONEY_DONATED,
            scoring=Scoring.TOTAL,
            starts_at=now - timedelta(hours=1),
            ends_at=now + timedelta(seconds=SECONDS_LEFT),
            created_by=ada,
            host_club=paris,
            provisional_hours=0,
        )
        open_contest(contest)
        enter_contest(contest, bo, lyon)
        assert paris.slug == "paris-page-turners" and lyon.slug == "lyon-readers"
        return contest.id, contest.ends_at


@pytest.fixture
def quick_leaderboard(live_app):
    """Live standings cached 1 s instead of 5 s, so a gift shows at the next poll."""
    saved = live_app.config["LEADERBOARD_CACHE_SECONDS"]
    live_app.config["LEADERBOARD_CACHE_SECONDS"] = 1
    yield
    live_app.config["LEADERBOARD_CACHE_SECONDS"] = saved


# ---- What a reader sees ---------------------------------------------------------------------


def expect_standings(page: Page, expected: list[tuple[str, str, str]], timeout: float = 15_000) -> None:
    """The leaderboard rows read (rank, club, score), in order, waiting for polling to bring them."""
    rows = page.locator("#leaderboard tbody tr")
    expect(rows).to_have_count(len(expected), timeout=timeout)
    for index, (rank, name, score) in enumerate(expected):
        row = rows.nth(index)
        expect(row.locator("th")).to_have_text(name, timeout=timeout)
        expect(row.locator("td").nth(0)).to_have_text(rank, timeout=timeout)
        expect(row.locator("td").nth(1)).to_have_text(score, timeout=timeout)


# ---- The journey ----------------------------------------------------------------------------


def test_club_contest_live_leaderboard_scoring_and_results(
    page: Page, browser: Browser, live_server, race, quick_leaderboard, inbox, screenshots
):
    contest_id, ends_at = race
    contest_path = f"/contests/{contest_id}"

    # Ada enters Paris Page Turners from the contest page; Lyon Readers is in already.
    log_in(page, *ADA)
    page.goto(contest_path)
    expect(page.get_by_role("heading", name=TITLE)).to_contain_text("Open")
    enter = page.locator("#enter")
    expect(enter.get_by_label("Club").locator("option")).to_have_text([PARIS])
    enter.get_by_label("Club").select_option(label=PARIS)
    enter.get_by_role("button", name="Enter my club").click()
    expect(page.locator(".flashes")).to_contain_text(f"{PARIS} is in the contest.")
    expect(page.locator("#enter")).to_contain_text(f"{PARIS} is in this contest.")
    expect(page.locator("#enter").get_by_role("button", name="Enter my club")).to_have_count(0)
    expect_standings(page, [("1", LYON, "$0.00"), ("1", PARIS, "$0.00")])

    watcher_context = new_window(browser, live_server)
    donor_context = new_window(browser, live_server)
    try:
        # The donor opens the contest page in one window and leaves it be.
        watcher = watcher_context.new_page()
        log_in(watcher, *DONOR)
        watcher.goto(contest_path)
        leaderboard = watcher.locator("#leaderboard")
        expect(leaderboard).to_have_attribute("hx-trigger", re.compile(r"^every "))
        expect(leaderboard).to_contain_text("Updates by itself every few seconds.")
        expect_standings(watcher, [("1", LYON, "$0.00"), ("1", PARIS, "$0.00")])
        mark_the_page(watcher)

        # In another window they give $30 to Lyon, then $10 to Paris.
        donor = donor_context.new_page()
        log_in(donor, *DONOR)
        donate(donor, "lyon-readers", 30)
        donate(donor, "paris-page-turners", 10)

        # The first window's leaderboard catches up by itself: Lyon leads with $30.00.
        expect_standings(watcher, [("1", LYON, "$30.00"), ("2", PARIS, "$10.00")])
        expect(watcher.locator("svg.leaderboard-chart")).to_have_attribute(
            "aria-label", f"Scores: {LYON} $30.00, {PARIS} $10.00"
        )
        expect(watcher.locator("svg.leaderboard-chart rect.bar-first")).to_have_count(1)
        assert is_same_page(watcher), "the leaderboard update reloaded the page"
        assert datetime.now(UTC) < ends_at, "the journey was too slow: the contest ended before the gifts showed"

        # The window closes and readers arrive together: the first visit to the contest page scores it,
        # the others must neither score it again nor send the results twice.
        time.sleep(max(0.0, (ends_at - datetime.now(UTC)).total_seconds()) + 1)
        statuses = donor.evaluate(  # distinct URLs, or Chromium's cache lock would queue them one by one
            "path => Promise.all(Array.from({length: 6}, (_, i) => fetch(`${path}?reader=${i}`).then(r => r.status)))",
            contest_path,
        )
        assert statuses == [200] * 6
        donor.goto(contest_path)
        expect(donor.get_by_role("heading", name=TITLE)).to_contain_text("Finished")
        expect(donor.locator("#enter")).to_have_count(0)
        expect(donor.get_by_role("heading", name="Final standings")).to_be_visible()
        expect_standings(donor, [("1", LYON, "$30.00"), ("2", PARIS, "$10.00")], timeout=5_000)
        expect(donor.locator(".winner")).to_have_text(re.compile(rf"Winner: {LYON} with \$30\.00\.$"))
        final = donor.locator("#leaderboard")
        for attribute in ("hx-trigger", "hx-get"):
            expect(final).not_to_have_attribute(attribute, re.compile(".*"))
        assert 'hx-trigger="every' not in final.evaluate("element => element.outerHTML")
        assert "Updates by itself" not in final.inner_text()
        screenshots.take(donor, "contest")

        # The first window's last poll brings the final standings, and the polling stops there.
        expect(watcher.get_by_role("heading", name="Final standings")).to_be_visible(timeout=15_000)
        expect_standings(watcher, [("1", LYON, "$30.00"), ("2", PARIS, "$10.00")], timeout=5_000)
        assert 'hx-trigger="every' not in leaderboard.evaluate("element => element.outerHTML")
        assert is_same_page(watcher), "the final standings reloaded the page"
        polls: list[str] = []
        watcher.on("request", lambda request: polls.append(request.url) if "/leaderboard" in request.url else None)
        watcher.wait_for_timeout(6_000)  # longer than one polling interval
        assert polls == [], f"the leaderboard kept polling after the contest finished: {polls}"
    finally:
        watcher_context.close()
        donor_context.close()

    # Bo hears that Lyon won; each owner gets the results once, and Ada no winner email.
    results = f"Results of “{TITLE}”"
    won = f"You won “{TITLE}”!"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not (
        emails(inbox, BO[0], results) and emails(inbox, ADA[0], results) and emails(inbox, BO[0], won)
    ):
        time.sleep(0.05)
    time.sleep(0.5)  # a duplicate would arrive right behind the first
    winner_mail = emails(inbox, BO[0], won)
    assert len(winner_mail) == 1, f"{len(winner_mail)} winner emails to Bo"
    assert f"Your club {LYON} won “{TITLE}” with $30.00." in text_of(winner_mail[0])
    assert f"{live_server}{contest_path}" in text_of(winner_mail[0])
    for (address, _), club, place in ((BO, LYON, "#1"), (ADA, PARIS, "#2")):
        got = emails(inbox, address, results)
        assert len(got) == 1, f"{len(got)} results emails to {address}"
        assert f"{club} finished {place} of 2 with" in text_of(got[0])
        assert f"1. {LYON}: $30.00" in text_of(got[0])
        assert f"2. {PARIS}: $10.00" in text_of(got[0])
    assert emails(inbox, ADA[0], won) == []
    assert {m["Subject"] for m in inbox.to(DONOR[0])} & {results, won} == set()
