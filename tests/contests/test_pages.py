"""Contest pages: the list, a contest's rules, entering, the live leaderboard, creating, flags."""

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from app.clubs.services import create_club, join_club
from app.contests.reading import log_book
from app.contests.scoring import TIE_BREAK_RULE
from app.contests.services import create_contest, enter_contest, open_contest, score_contest
from app.extensions import cache, db
from app.models import (
    Contest,
    ContestEntry,
    ContestFlag,
    ContestKind,
    ContestStatus,
    Donation,
    DonationStatus,
    Metric,
    Scoring,
    User,
)
from tests.helpers import login_as, make_user

NOW = datetime.now(UTC).replace(microsecond=0)
START = NOW - timedelta(days=1)
END = NOW + timedelta(days=6)
HTMX = {"HX-Request": "true", "HX-Request-Type": "partial"}


def today() -> date:
    """Today for the readers here, whose time zone is UTC."""
    return datetime.now(UTC).date()


@pytest.fixture(autouse=True)
def fresh_leaderboards(app):
    """Live standings are cached by contest id, and ids start again in every test."""
    with app.app_context():
        cache.clear()


def user(email, name=None, **fields) -> User:
    return make_user(email=email, name=name or email.split("@")[0].title(), **fields)


def club_with(owner, members, name):
    club = create_club(owner, name=name, city="Lyon", country="France")
    for member in members:
        join_club(club, member)
    return club


def new_contest(kind=ContestKind.READERS, metric=Metric.BOOKS_READ, opened=True, **kw) -> Contest:
    kw.setdefault("starts_at", START)
    kw.setdefault("ends_at", END)
    kw.setdefault("provisional_hours", 0)
    contest = create_contest(title=kw.pop("title", "November pages"), kind=kind, metric=metric, **kw)
    if opened:
        open_contest(contest)
    return contest


def page(client, url, **headers) -> str:
    response = client.get(url, headers=headers)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def finish(app, contest_id):
    with app.app_context():
        assert score_contest(contest_id, now=END + timedelta(minutes=1)) == "finished"


# ---- The list and the contest page ----------------------------------------------------------


def test_contest_page_states_the_rules_the_window_in_the_readers_zone_and_the_prize(app, client):
    with app.app_context():
        user("rosa@example.com", time_zone="America/New_York")
        contest_id = new_contest(
            scoring=Scoring.TOTAL, prize="A signed first edition", description="Read all month."
        ).id
    login_as(client, "rosa@example.com")
    html = page(client, f"/contests/{contest_id}")
    assert "November pages" in html and "Read all month." in html
    assert "Score = your total books read." in html
    assert TIE_BREAK_RULE in html
    assert "both ends included" in html
    new_york = START.astimezone(ZoneInfo("America/New_York")).strftime("%d %b %Y, %H:%M")
    assert new_york in html and "America/New_York" in html
    assert "A signed first edition" in html
    assert "Reader against reader" in html and "Books read" in html
    assert re.search(r"<dt>Entrants</dt><dd>0</dd>", html)
    assert ">Join</button>" in html


def test_per_member_club_contest_explains_the_member_floor(app, client):
    with app.app_context():
        contest_id = new_contest(
            kind=ContestKind.CLUBS, metric=Metric.PAGES_READ, scoring=Scoring.PER_MEMBER, member_floor=4
        ).id
    html = page(client, f"/contests/{contest_id}")
    assert "Score = pages read by the club ÷ its active members (counted as at least 4" in html
    assert "Log in</a> to enter your club" in html


def test_contest_list_shows_open_upcoming_and_finished_and_drafts_only_to_admins(app, client):
    with app.app_context():
        user("admin@example.com", is_admin=True)
        new_contest(title="Running now")
        new_contest(title="Starts next week", starts_at=NOW + timedelta(days=7), ends_at=NOW + timedelta(days=14))
        new_contest(title="Secret draft", opened=False)
        over = new_contest(title="Summer sprint")
        cancelled = new_contest(title="Called off")
        from app.contests.services import cancel_contest

        cancel_contest(cancelled)
        over_id = over.id
    finish(app, over_id)
    html = page(client, "/contests")
    sections = re.split(r'<h2 id="(?:running|upcoming|results)">', html)
    assert "Running now" in sections[1]
    assert "Starts next week" in sections[2]
    assert "Summer sprint" in sections[3]
    assert "Secret draft" not in html and "Called off" not in html
    assert 'href="/contests/new"' not in html
    login_as(client, "admin@example.com")
    admin_html = page(client, "/contests")
    assert "Secret draft" in admin_html and 'href="/contests/new"' in admin_html


def test_a_draft_is_hidden_from_readers(app, client):
    with app.app_context():
        user("rosa@example.com")
        draft_id = new_contest(opened=False).id
    login_as(client, "rosa@example.com")
    assert client.get(f"/contests/{draft_id}").status_code == 404
    assert client.get("/contests/999").status_code == 404


def test_header_links_to_contests(client):
    assert 'href="/contests"' in page(client, "/")


# ---- Entering -------------------------------------------------------------------------------


def test_a_reader_joins_once(app, client):
    with app.app_context():
        user("rosa@example.com")
        contest_id = new_contest().id
    login_as(client, "rosa@example.com")
    response = client.post(f"/contests/{contest_id}/enter")
    assert response.status_code == 303
    html = page(client, f"/contests/{contest_id}")
    assert "You are in the contest." in html and "You are in this contest." in html
    assert "Rosa" in html  # on the leaderboard at once, not after the cache expires
    again = client.post(f"/contests/{contest_id}/enter")
    assert again.status_code == 422 and "Already entered." in again.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(ContestEntry.id))) == 1


def test_signed_out_visitors_are_sent_to_log_in_to_enter(app, client):
    with app.app_context():
        contest_id = new_contest().id
    response = client.post(f"/contests/{contest_id}/enter")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_only_a_clubs_owner_enters_it_and_only_once(app, client):
    with app.app_context():
        owner = user("owner@example.com", "Olga")
        member = user("member@example.com", "Max")
        club_id = club_with(owner, [member], "Lyon Readers").id
        other_id = club_with(member, [], "Max's Club").id
        contest_id = new_contest(kind=ContestKind.CLUBS).id

    login_as(client, "member@example.com")
    html = page(client, f"/contests/{contest_id}")
    assert "Enter my club" in html and "Max&#39;s Club" in html and "Lyon Readers" not in html
    refused = client.post(f"/contests/{contest_id}/enter", data={"club_id": club_id})
    assert refused.status_code == 422
    assert "Only the club&#39;s owner can enter it in a contest." in refused.get_data(as_text=True)
    no_club = client.post(f"/contests/{contest_id}/enter", data={})
    assert no_club.status_code == 422 and "Choose the club to enter." in no_club.get_data(as_text=True)
    assert client.post(f"/contests/{contest_id}/enter", data={"club_id": other_id}).status_code == 303

    client.post("/auth/logout")
    login_as(client, "owner@example.com")
    assert client.post(f"/contests/{contest_id}/enter", data={"club_id": club_id}).status_code == 303
    twice = client.post(f"/contests/{contest_id}/enter", data={"club_id": club_id})
    assert twice.status_code == 422 and "Already entered." in twice.get_data(as_text=True)
    html = page(client, f"/contests/{contest_id}")
    assert "Lyon Readers is in this contest." in html and "Enter my club" not in html
    with app.app_context():
        assert db.session.scalar(select(func.count(ContestEntry.id))) == 2


# ---- The live leaderboard -------------------------------------------------------------------


def readers_contest_with(n: int, books: dict[int, int] | None = None, prefix: str = "reader") -> int:
    """A reader contest with ``n`` entrants; reader i logs books[i] books today."""
    contest = new_contest()
    for i in range(n):
        reader = user(f"{prefix}{i}@example.com", f"Reader {i:02d}")
        enter_contest(contest, reader)
        for k in range((books or {}).get(i, 0)):
            log_book(reader, title=f"Book {k}", author="", pages=100, finished_on=today())
    return contest.id


def test_leaderboard_fragment_ranks_readers_with_a_server_drawn_chart(app, client):
    with app.app_context():
        contest_id = readers_contest_with(3, {0: 1, 1: 3, 2: 2})
    response = client.get(f"/contests/{contest_id}/leaderboard", headers=HTMX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "HX-Request" in response.headers["Vary"]
    assert "<html" not in html and html.lstrip().startswith("{#") is False
    assert 'id="leaderboard"' in html and 'hx-trigger="every 5s"' in html and 'hx-swap="outerHTML"' in html
    rows = re.findall(r"<tr>\s*<td>(\d+)</td>\s*<th scope=\"row\">([^<]+)</th>\s*<td>([^<]+)</td>", html)
    assert rows == [("1", "Reader 01", "3 books"), ("2", "Reader 02", "2 books"), ("3", "Reader 00", "1 book")]
    assert "100%" in html  # each reader took part
    assert html.count("<svg") == 1 and 'role="img"' in html and 'aria-label="Scores: Reader 01 3 books, ' in html
    assert html.count("<rect") == 3
    assert 'width="100.0%"' in html and 'width="33.3%"' in html
    assert "<script" not in html


def test_leaderboard_shows_who_moved_since_the_last_update(app, client):
    with app.app_context():
        contest_id = readers_contest_with(2, {0: 1})
    first = client.get(f"/contests/{contest_id}/leaderboard", headers=HTMX).get_data(as_text=True)
    assert "▲" not in first and "▼" not in first and "–" in first
    with app.app_context():
        reader = db.session.scalar(select(User).where(User.email == "reader1@example.com"))
        for k in range(2):
            log_book(reader, title=f"More {k}", author="", pages=50, finished_on=today())
        cache.delete(f"contest:{contest_id}:live")  # the few seconds of caching are over
    html = client.get(f"/contests/{contest_id}/leaderboard", headers=HTMX).get_data(as_text=True)
    assert "▲1" in html and "▼1" in html


def test_leaderboard_without_htmx_is_the_whole_page(app, client):
    with app.app_context():
        contest_id = readers_contest_with(1)
    html = page(client, f"/contests/{contest_id}/leaderboard")
    assert "<html" in html and TIE_BREAK_RULE in html and 'id="leaderboard"' in html


def test_leaderboard_runs_the_same_queries_for_2_or_12_entrants(app, client, count_queries):
    with app.app_context():
        few_id = readers_contest_with(2, {0: 1, 1: 2})
        many_id = readers_contest_with(12, {i: i % 3 for i in range(12)}, prefix="many")
    with count_queries() as few:
        few_html = client.get(f"/contests/{few_id}/leaderboard", headers=HTMX).get_data(as_text=True)
    with count_queries() as many:
        many_html = client.get(f"/contests/{many_id}/leaderboard", headers=HTMX).get_data(as_text=True)
    assert few_html.count("<rect") == 2 and many_html.count("<rect") == 12
    assert few.count == many.count, many.statements
    assert many.count <= 3, many.statements


def test_contest_page_runs_a_fixed_number_of_queries(app, client, count_queries):
    with app.app_context():
        few_id = readers_contest_with(2, {0: 1})
        many_id = readers_contest_with(12, {i: 1 for i in range(12)}, prefix="many")
    with count_queries() as few:
        page(client, f"/contests/{few_id}")
    with count_queries() as many:
        page(client, f"/contests/{many_id}")
    assert few.count == many.count, many.statements


def test_the_page_stops_polling_once_the_contest_is_finished(app, client, inbox):
    with app.app_context():
        contest_id = readers_contest_with(2, {0: 2, 1: 1})
        db.session.execute(update(Contest).where(Contest.id == contest_id).values(prize="A book token"))
        db.session.commit()
    assert 'hx-trigger="every 5s"' in page(client, f"/contests/{contest_id}")
    finish(app, contest_id)
    html = page(client, f"/contests/{contest_id}")
    assert "every 5s" not in html and "/leaderboard" not in html
    assert "Final standings" in html and "Winner: <strong>Reader 00</strong> with 2 books" in html
    assert ">Join</button>" not in html
    fragment = client.get(f"/contests/{contest_id}/leaderboard", headers=HTMX).get_data(as_text=True)
    assert "hx-trigger" not in fragment and fragment.count("<rect") == 2
    winner_mail = inbox.wait_for("reader0@example.com", count=2)
    assert sorted(m["Subject"] for m in winner_mail) == ["Results of “November pages”", "You won “November pages”!"]
    won = next(m for m in winner_mail if m["Subject"].startswith("You won"))
    assert "A book token" in won.get_body(preferencelist=("plain",)).get_content()
    results = inbox.wait_for("reader1@example.com")[0].get_body(preferencelist=("plain",)).get_content()
    assert "You finished #2 of 2 with 1 book." in results and "1. Reader 00: 2 books" in results
    assert "with 2 books" in won.get_body(preferencelist=("plain",)).get_content()
    assert f"http://localhost/contests/{contest_id}" in results


def test_opening_the_page_after_the_end_scores_the_contest(app, client, inbox):
    """The embedded default has no scheduler: the first visit after the end scores the contest."""
    with app.app_context():
        contest_id = readers_contest_with(1, {0: 1})
        db.session.execute(
            update(Contest)
            .where(Contest.id == contest_id)
            .values(starts_at=NOW - timedelta(days=3), ends_at=datetime.now(UTC))
        )
        db.session.commit()
    html = page(client, f"/contests/{contest_id}")
    assert "Final standings" in html and "every 5s" not in html
    with app.app_context():
        assert db.session.get(Contest, contest_id).status == ContestStatus.FINISHED
    inbox.wait_for("reader0@example.com", count=2)


def test_provisional_results_become_final_on_the_first_visit_after_the_period(app, client, inbox):
    with app.app_context():
        contest_id = readers_contest_with(1, {0: 1})
        db.session.execute(update(Contest).where(Contest.id == contest_id).values(rules={"provisional_hours": 24}))
        db.session.commit()
        assert score_contest(contest_id, now=END + timedelta(minutes=1)) == "provisional"
    assert "Provisional standings" in page(client, f"/contests/{contest_id}")
    with app.app_context():
        db.session.execute(
            update(Contest).where(Contest.id == contest_id).values(provisional_until=NOW - timedelta(seconds=1))
        )
        db.session.commit()
    assert "Final standings" in page(client, f"/contests/{contest_id}")
    inbox.wait_for("reader0@example.com", count=2)


# ---- Creating, opening, cancelling ----------------------------------------------------------


def contest_form(**overrides):
    data = {
        "title": "Winter reading",
        "description": "Who reads most?",
        "kind": "readers",
        "metric": "books_read",
        "scoring": "total",
        "starts_at": "2030-01-01T09:00",
        "ends_at": "2030-01-31T21:30",
        "prize": "Bookshop vouchers",
        "member_floor": "3",
        "provisional_hours": "0",
        "host_club": "",
    }
    data.update(overrides)
    return data


def test_an_admin_creates_a_draft_in_their_time_zone_then_opens_it(app, client):
    with app.app_context():
        user("admin@example.com", is_admin=True, time_zone="Europe/Paris")
    login_as(client, "admin@example.com")
    form = page(client, "/contests/new")
    assert 'type="datetime-local"' in form and "In your time zone (Europe/Paris)" in form
    response = client.post("/contests/new", data=contest_form())
    assert response.status_code == 303
    contest_url = response.headers["Location"]
    with app.app_context():
        contest = db.session.scalar(select(Contest))
        assert contest.status == ContestStatus.DRAFT
        assert contest.starts_at == datetime(2030, 1, 1, 8, 0, tzinfo=UTC)  # 09:00 in Paris
        assert contest.ends_at == datetime(2030, 1, 31, 20, 30, tzinfo=UTC)
        assert contest.rules["member_floor"] == 3 and contest.prize == "Bookshop vouchers"
    html = page(client, contest_url)
    assert "01 Jan 2030, 09:00" in html and "Open for entries" in html and ">Cancel</button>" in html
    assert client.post(f"{contest_url}/open").status_code == 303
    html = page(client, contest_url)
    assert "The contest is open for entries." in html and "Open for entries" not in html


def test_the_form_shows_errors_in_place(app, client):
    with app.app_context():
        user("admin@example.com", is_admin=True)
    login_as(client, "admin@example.com")
    response = client.post("/contests/new", data=contest_form(title="", ends_at="2029-12-31T09:00"))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "This field is required." in html and "The contest must end after it starts." in html
    per_member = client.post("/contests/new", data=contest_form(scoring="per_member"))
    assert per_member.status_code == 422
    assert "Per-member scoring is for club contests." in per_member.get_data(as_text=True)
    partial = client.post("/contests/new", data=contest_form(starts_at="soon"), headers=HTMX)
    assert partial.status_code == 422 and partial.get_data(as_text=True).lstrip().startswith("<form")
    with app.app_context():
        assert db.session.scalar(select(func.count(Contest.id))) == 0


def test_club_owners_host_club_contests_for_their_own_club_only(app, client):
    with app.app_context():
        owner = user("owner@example.com")
        stranger = user("stranger@example.com")
        mine = club_with(owner, [], "Mine").id
        theirs = club_with(stranger, [], "Theirs").id
        user("reader@example.com")
    login_as(client, "reader@example.com")
    assert client.get("/contests/new").status_code == 403
    client.post("/auth/logout")

    login_as(client, "owner@example.com")
    form = page(client, "/contests/new")
    assert "Reader against reader" not in form and ">Mine</option>" in form and "Theirs" not in form
    readers = client.post("/contests/new", data=contest_form(kind="readers", host_club=mine))
    assert readers.status_code == 422
    other = client.post("/contests/new", data=contest_form(kind="clubs", host_club=theirs))
    assert other.status_code == 422
    created = client.post("/contests/new", data=contest_form(kind="clubs", host_club=mine))
    assert created.status_code == 303
    with app.app_context():
        contest = db.session.scalar(select(Contest))
        assert contest.host_club_id == mine and contest.kind == ContestKind.CLUBS
        contest_id = contest.id
    assert "Open for entries" in page(client, f"/contests/{contest_id}")
    assert client.post(f"/contests/{contest_id}/cancel").status_code == 303
    assert "The contest is cancelled." in page(client, f"/contests/{contest_id}")

    client.post("/auth/logout")
    login_as(client, "stranger@example.com")
    assert client.post(f"/contests/{contest_id}/open").status_code == 403


# ---- Flags while results are provisional ----------------------------------------------------


def test_owners_flag_entries_while_provisional_and_admins_review_them(app, client):
    with app.app_context():
        user("admin@example.com", is_admin=True)
        ada, bo = user("ada@example.com"), user("bo@example.com")
        cy = user("cy@example.com")
        paris = club_with(ada, [cy], "Paris")
        lyon = club_with(bo, [], "Lyon")
        contest = new_contest(kind=ContestKind.CLUBS, provisional_hours=48)
        enter_contest(contest, ada, paris)
        enter_contest(contest, bo, lyon)
        entry_id = log_book(
            cy, title="War and Peace", author="Tolstoy", pages=1225, finished_on=today(), confirmed=True
        ).id
        log_book(bo, title="Short one", author="", pages=90, finished_on=today())
        contest_id = contest.id
        assert score_contest(contest_id, now=END + timedelta(minutes=1)) == "provisional"

    login_as(client, "cy@example.com")  # a member, not an owner
    by_member = client.post(f"/contests/{contest_id}/flags", data={"reading_log_id": entry_id, "reason": "x"})
    assert by_member.status_code == 403
    client.post("/auth/logout")

    login_as(client, "bo@example.com")
    html = page(client, f"/contests/{contest_id}")
    assert "provisional until" in html and "Flag this entry" in html and "Provisional standings" in html
    missing = client.post(f"/contests/{contest_id}/flags", data={"reading_log_id": entry_id, "reason": ""})
    assert missing.status_code == 422 and "This field is required." in missing.get_data(as_text=True)
    flagged = client.post(
        f"/contests/{contest_id}/flags", data={"reading_log_id": entry_id, "reason": "1225 pages in a day?"}
    )
    assert flagged.status_code == 303
    again = client.post(f"/contests/{contest_id}/flags", data={"reading_log_id": entry_id, "reason": "Really"})
    assert again.status_code == 422 and "already flagged" in again.get_data(as_text=True)
    assert "Flags to review" not in page(client, f"/contests/{contest_id}")
    client.post("/auth/logout")

    login_as(client, "admin@example.com")
    html = page(client, f"/contests/{contest_id}")
    assert "Flags to review" in html and "War and Peace" in html and "1225 pages in a day?" in html
    with app.app_context():
        flag_id = db.session.scalar(select(ContestFlag.id))
    assert client.post(f"/contests/flags/{flag_id}/review", data={"decision": "uphold"}).status_code == 303
    assert "Flags to review" not in page(client, f"/contests/{contest_id}")
    with app.app_context():
        assert db.session.get(ContestFlag, flag_id).status == ContestFlag.UPHELD
        # When the provisional period ends, the upheld entry no longer counts: Lyon wins.
        assert score_contest(contest_id, now=END + timedelta(hours=50)) == "finished"
        assert db.session.get(Contest, contest_id).standings["winner"]["name"] == "Lyon"


def test_only_admins_review_flags(app, client):
    with app.app_context():
        user("rosa@example.com")
    login_as(client, "rosa@example.com")
    assert client.post("/contests/flags/1/review", data={"decision": "uphold"}).status_code == 403


def test_money_contests_show_dollars(app, client):
    with app.app_context():
        ada = user("ada@example.com")
        paris = club_with(ada, [], "Paris")
        contest = new_contest(kind=ContestKind.CLUBS, metric=Metric.MONEY_DONATED)
        enter_contest(contest, ada, paris)
        db.session.add(
            Donation(
                club_id=paris.id,
                user_id=ada.id,
                amount_cents=12345,
                status=DonationStatus.PAID,
                gateway="simulated",
                paid_at=NOW,
            )
        )
        db.session.commit()
        contest_id = contest.id
    html = client.get(f"/contests/{contest_id}/leaderboard", headers=HTMX).get_data(as_text=True)
    assert "$123.45" in html
