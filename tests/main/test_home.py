"""The home page: what sells to a visitor, and what a signed-in reader does next."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from app.clubs.services import join_club
from app.contests.leaderboard import forget_live
from app.contests.reading import log_book, set_goal
from app.contests.services import create_contest, enter_contest, open_contest
from app.extensions import cache, db
from app.models import (
    BookOffer,
    Club,
    Contest,
    ContestKind,
    Membership,
    MemberStatus,
    Metric,
    Notification,
    Order,
    OrderLine,
    OrderStatus,
    Role,
    User,
)
from app.models.base import utcnow
from tests.clubs import add_member, start_club
from tests.factories import isbn_for, make_books
from tests.helpers import PASSWORD, login_as, make_user

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(autouse=True)
def fresh_cache(app):
    """The home page caches its visitor sections, and ids start again in every test."""
    with app.app_context():
        cache.clear()
    yield
    with app.app_context():
        cache.clear()


def text(response) -> str:
    assert response.status_code == 200, response.status_code
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


def books(titles: list[str], start: int = 0):
    return make_books([{"title": t, "isbn": isbn_for(500000 + start + i)} for i, t in enumerate(titles)])


def sell(book, copies: int, email="buyer@example.com") -> None:
    """A paid order for ``copies`` of ``book``."""
    buyer = db.session.scalar(select(User).where(User.email == email)) or make_user(email=email, name="Bea Buyer")
    order = Order(
        user_id=buyer.id,
        total_cents=book.price_cents * copies,
        status=OrderStatus.PAID,
        gateway="simulated",
        paid_at=utcnow(),
    )
    order.lines = [
        OrderLine(
            book_id=book.id, title=book.title, isbn13=book.isbn13, unit_price_cents=book.price_cents, quantity=copies
        )
    ]
    db.session.add(order)
    db.session.commit()


def club_contest(title: str, club_ids: list[int]):
    """A running club contest (books read) that the clubs' owners entered their clubs in."""
    contest = create_contest(
        title=title,
        kind=ContestKind.CLUBS,
        metric=Metric.BOOKS_READ,
        starts_at=NOW - timedelta(days=1),
        ends_at=NOW + timedelta(days=6),
        provisional_hours=0,
    )
    open_contest(contest)
    for club_id in club_ids:
        entered = db.session.get(Club, club_id)
        owner = db.session.scalar(
            select(User)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.club_id == club_id, Membership.role == Role.OWNER)
        )
        enter_contest(contest, owner, entered)
    return contest


def reader_contest(title: str, readers: list[tuple[str, int]]) -> int:
    """A running reader contest; each (name, books) reader entered and read that many books."""
    contest = create_contest(
        title=title,
        kind=ContestKind.READERS,
        metric=Metric.BOOKS_READ,
        starts_at=NOW - timedelta(days=1),
        ends_at=NOW + timedelta(days=6),
        provisional_hours=0,
    )
    open_contest(contest)
    for name, read in readers:
        email = f"{name.lower()}.{contest.id}@example.com"
        person = make_user(email=email, name=name)
        enter_contest(contest, person)
        for n in range(read):
            log_book(person, title=f"Book {n}", author="", pages=100, finished_on=date.today())
    return contest.id


def club(name: str, city: str, members: int = 0, **kw):
    made = start_club(owner_email=f"owner.{name.lower().replace(' ', '')}@example.com", name=name, city=city, **kw)
    for n in range(members):
        add_member(made.id, f"m{n}.{made.id}@example.com", f"Member {n}")
    return made


# ---- Visitors -------------------------------------------------------------------------------


def test_a_visitor_sees_new_and_popular_books_contests_with_leaders_and_active_clubs(app, client):
    with app.app_context():
        shelf = books(["Old Favourite", "Middlemarch", "Brand New Novel"])
        sell(shelf[0], 3)
        reader_contest("November pages", [("Ada", 3), ("Ben", 1), ("Cy", 2), ("Dee", 0)])
        club("Quiet Club", "Lyon")
        club("Busy Club", "Paris", members=3)
    page = text(client.get("/"))
    assert page.count("<h1") == 1
    assert "Create your free account" in page
    new = page.split('id="new-books"')[1].split("</section>")[0]
    assert "Brand New Novel" in new and "Middlemarch" in new and "Old Favourite" in new
    popular = page.split('id="popular-books"')[1].split("</section>")[0]
    assert "Old Favourite" in popular and "Middlemarch" not in popular
    contests = page.split('id="open-contests"')[1].split("</section>")[0]
    assert "November pages" in contests
    leaders = re.findall(
        r'<span class="home-rank">(\d)\.</span> (\w+) <span class="home-score">([^<]+)</span>', contests
    )
    assert leaders == [("1", "Ada", "3 books"), ("2", "Cy", "2 books"), ("3", "Ben", "1 book")]
    clubs = page.split('id="clubs-heading"')[1].split("</section>")[0]
    assert "Active clubs" in clubs
    assert clubs.index("Busy Club") < clubs.index("Quiet Club")  # the most active first
    assert "4 members" in clubs and "Last 30 days: 4 new members" in clubs


def test_popular_books_are_left_out_when_nothing_sold_and_the_page_says_so_when_empty(client):
    page = text(client.get("/"))
    assert "The shelves are being stocked" in page
    assert 'id="popular-books"' not in page
    assert "No contest is running right now." in page
    assert "Start the first one" in page


def test_choosing_a_city_shows_the_clubs_there_and_keeps_the_choice_in_the_url(app, client):
    with app.app_context():
        club("Lyon Readers", "Lyon")
        club("Paris Readers", "Paris", members=2)
        hidden = club("Hidden Paris", "Paris")
        db.session.get(Club, hidden.id).hidden = True
        db.session.commit()
    page = text(client.get("/?city=lyon"))
    clubs = page.split('id="clubs-heading"')[1].split("</section>")[0]
    assert "Clubs near lyon" in clubs
    assert "Lyon Readers" in clubs and "Paris Readers" not in clubs
    assert '<option value="Lyon" selected>' in clubs and "Hidden Paris" not in page
    nowhere = text(client.get("/?city=Oslo"))
    assert "No club meets in Oslo yet." in nowhere
    assert "No club meets in " + "x" * 120 + " yet." in text(client.get("/?city=" + "x" * 500))
    assert "Paris Readers" in text(client.get("/"))


# ---- Signed-in readers ----------------------------------------------------------------------


def test_a_reader_sees_their_clubs_next_steps_reading_goal_and_unread_notifications(app, client):
    with app.app_context():
        rosa = make_user(email="rosa@example.com", name="Rosa Reader")
        mine = start_club(owner_email="rosa@example.com", name="Rosa's Circle")
        add_member(mine.id, "p1@example.com", "Pat One", status=MemberStatus.PENDING)
        add_member(mine.id, "p2@example.com", "Pat Two", status=MemberStatus.PENDING)
        theirs = club("Goal Club", "Lyon", donation_goal_cents=10_000)
        join_club(db.session.get(Club, theirs.id), rosa)
        other = make_user(email="giver@example.com", name="Giver")
        db.session.add(BookOffer(club_id=mine.id, user_id=other.id, title="Spare copy", condition="good"))
        set_goal(rosa, date.today().year, 4)
        log_book(rosa, title="Dune", author="Frank Herbert", pages=400, finished_on=date.today())
        for n in range(5):
            db.session.add(Notification(user_id=rosa.id, kind="club", key=f"k{n}", title=f"Note {n}", url="/clubs"))
        db.session.add(Notification(user_id=rosa.id, kind="club", key="old", title="Already read", read_at=utcnow()))
        db.session.commit()
    login_as(client, "rosa@example.com")
    page = text(client.get("/"))
    assert page.count("Welcome back, Rosa Reader.") == 1  # one greeting, no second flash
    assert "Welcome," not in page
    my_clubs = page.split('id="my-clubs"')[1].split("</section>")[0]
    assert "2 requests waiting" in my_clubs and "1 book offer to decide" in my_clubs
    assert f'href="/clubs/{mine.slug}/members"' in my_clubs
    assert "$0.00 of $100.00 raised" in my_clubs and "Help reach the goal" in my_clubs
    reading = page.split('id="my-reading"')[1].split("</section>")[0]
    assert f"1 of 4 books in {date.today().year}" in reading and "Dune" in reading
    notes = page.split('id="my-notifications"')[1].split("</section>")[0]
    assert "5 unread notifications." in notes
    assert [t for t in re.findall(r"Note \d", notes)] == ["Note 4", "Note 3", "Note 2"]
    assert "Already read" not in notes
    assert "confirm your email" not in page


def test_an_unverified_reader_is_reminded_once_to_confirm_their_email(app, client):
    with app.app_context():
        make_user(verified=False)
    login_as(client)
    page = text(client.get("/"))
    assert page.count("Please confirm your email address") == 1
    assert "You are not in a club yet." in page and "You are all caught up." in page


def test_logging_in_elsewhere_still_says_welcome_back(app, client):
    with app.app_context():
        make_user()
    response = client.post("/auth/login?next=/account", data={"email": "reader@example.com", "password": PASSWORD})
    assert response.headers["Location"] == "/account"
    assert "Welcome back, Rosa Reader." in text(client.get("/account"))


# ---- Queries --------------------------------------------------------------------------------


def world(size: int) -> None:
    """``size`` books (some sold), clubs (the reader in each) and running contests with entrants."""
    rosa = make_user(email="rosa@example.com", name="Rosa Reader")
    shelf = books([f"Book {n}" for n in range(size)], start=size * 100)
    for book in shelf[:size]:
        sell(book, 1)
    for n in range(size):
        made = club(f"Club {size} {n}", "Lyon" if n % 2 else "Paris", donation_goal_cents=5_000)
        join_club(db.session.get(Club, made.id), rosa)
        add_member(made.id, f"wait{n}.{size}@example.com", "Waiting", status=MemberStatus.PENDING)
        db.session.add(Notification(user_id=rosa.id, kind="club", key=f"n{size}-{n}", title="Hello"))
        log_book(rosa, title=f"Read {n}", author="", pages=10, finished_on=date.today() - timedelta(days=n))
    db.session.commit()
    for n in range(min(size, 4)):  # the page shows three contests: more make no difference
        reader_contest(f"Contest {size} {n}", [("Ann", 1), ("Bob", 2)])
    clubs = list(db.session.scalars(select(Club.id).order_by(Club.id)))
    club_contest(f"Clubs {size} A", clubs[::2])  # each of the reader's clubs is in a contest
    club_contest(f"Clubs {size} B", clubs[1::2])


@pytest.mark.parametrize("signed_in", [False, True], ids=["visitor", "reader"])
def test_the_home_page_runs_the_same_queries_for_2_or_20_of_everything(app, count_queries, signed_in):
    from tests.conftest import clean_tables

    counts = {}
    for size in (2, 20):
        with app.app_context():
            clean_tables()
            cache.clear()
            world(size)
        client = app.test_client()
        if signed_in:
            login_as(client, "rosa@example.com")
        with count_queries() as cold:
            page = text(client.get("/?city=Lyon"))
        with app.app_context():  # live standings are cached a few seconds only: count them as expired
            for contest_id in db.session.scalars(select(Contest.id)):
                forget_live(contest_id)
        with count_queries() as warm:
            text(client.get("/?city=Lyon"))
        assert f"Club {size} 1" in page
        counts[size] = (cold.count, warm.count)
    assert counts[2] == counts[20], counts
    cold, warm = counts[2]
    # Warm, the visitor sections come from the cache, and so does the reader with their cart and
    # notification counts (app/accounts/user_cache.py): a reader's page loads their clubs, their
    # reading with the goal, and notifications (and their clubs' contest standings, cached a few
    # seconds only). Cold adds the books (1), contests with their leaders (2), clubs and their
    # cities (2), and for a reader the snapshot of the reader and their counts (1).
    assert warm <= (5 if signed_in else 0), counts
    assert cold <= warm + 5 + signed_in, counts
