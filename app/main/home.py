"""What the home page shows, each section in a fixed number of queries.

For everyone: new and popular books (one query), running contests with their leaders (two),
and clubs near a chosen city or the most active ones (two). For a signed-in reader also: their
clubs with what to do next (one), their recent reading and yearly goal (one), and their unread
notifications (one).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import and_, case, func, literal, or_, select
from sqlalchemy.orm import joinedload

from app.clubs.mine import MyClub, my_clubs
from app.contests.leaderboard import leaders_of, score_label
from app.contests.reading import YearProgress
from app.contests.scoring import Standing
from app.extensions import db
from app.formatting import local_today
from app.models import (
    Book,
    Club,
    Contest,
    ContestEntry,
    ContestStatus,
    Donation,
    DonationStatus,
    Membership,
    MemberStatus,
    Notification,
    Order,
    OrderLine,
    OrderStatus,
    ReadingGoal,
    ReadingLog,
    User,
    WishlistItem,
)

BOOKS_SHOWN = 8
CONTESTS_SHOWN = 3
CLUBS_SHOWN = 6
POPULAR_DAYS = 90  # "popular" means sold (or wished for) lately, not ever
ACTIVE_DAYS = 30
CITY_MAX = 120


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


# ---- Books ----------------------------------------------------------------------------------


@dataclass
class Bookshelves:
    new: list[Book]
    popular: list[Book]


def bookshelves(count: int = BOOKS_SHOWN, now: datetime | None = None) -> Bookshelves:
    """The newest books, and the books most sold in paid orders lately (then most wished for by
    clubs), in one query. Popular is empty when nothing sold or was wished for: the page then
    shows the new books alone rather than the same list twice."""
    since = _now(now) - timedelta(days=POPULAR_DAYS)
    sold = (
        select(OrderLine.book_id, func.sum(OrderLine.quantity).label("n"))
        .join(Order, Order.id == OrderLine.order_id)
        .where(Order.status == OrderStatus.PAID, Order.paid_at >= since)
        .group_by(OrderLine.book_id)
        .subquery()
    )
    wished = (
        select(WishlistItem.book_id, func.count(WishlistItem.id).label("n"))
        .where(WishlistItem.given_at.is_(None))
        .group_by(WishlistItem.book_id)
        .subquery()
    )
    copies, wishes = func.coalesce(sold.c.n, 0), func.coalesce(wished.c.n, 0)
    listed = Book.removed_at.is_(None)
    newest = [Book.created_at.desc(), Book.id.desc()]
    newest_ids = select(Book.id).where(listed).order_by(*newest).limit(count)
    popular_ids = (
        select(Book.id)
        .outerjoin(sold, sold.c.book_id == Book.id)
        .outerjoin(wished, wished.c.book_id == Book.id)
        .where(listed, or_(copies > 0, wishes > 0))
        .order_by(copies.desc(), wishes.desc(), *newest)
        .limit(count)
    )
    rows = (
        db.session.execute(
            select(Book, copies, wishes)
            .outerjoin(sold, sold.c.book_id == Book.id)
            .outerjoin(wished, wished.c.book_id == Book.id)
            .where(or_(Book.id.in_(newest_ids), Book.id.in_(popular_ids)))
            .options(joinedload(Book.authors))
        )
        .unique()
        .all()
    )

    def recency(row):
        return (row[0].created_at, row[0].id)

    by_recency = sorted(rows, key=recency, reverse=True)
    popular = sorted((r for r in by_recency if r[1] or r[2]), key=lambda r: (-int(r[1]), -int(r[2])))
    return Bookshelves(new=[r[0] for r in by_recency[:count]], popular=[r[0] for r in popular[:count]])


# ---- Contests -------------------------------------------------------------------------------


@dataclass
class Leader:
    rank: int
    name: str
    score: str


@dataclass
class RunningContest:
    contest: Contest
    entrants: int
    leaders: list[Leader] = field(default_factory=list)


def running_contests(count: int = CONTESTS_SHOWN, now: datetime | None = None) -> list[RunningContest]:
    """Open contests under way, ending soonest first, with their top three (two queries)."""
    now = _now(now)
    entrants = (
        select(ContestEntry.contest_id, func.count(ContestEntry.id).label("n"))
        .group_by(ContestEntry.contest_id)
        .subquery()
    )
    rows = db.session.execute(
        select(Contest, func.coalesce(entrants.c.n, 0))
        .outerjoin(entrants, entrants.c.contest_id == Contest.id)
        .where(Contest.status == ContestStatus.OPEN, Contest.starts_at <= now, Contest.ends_at > now)
        .order_by(Contest.ends_at, Contest.id)
        .limit(count)
    ).all()
    contests = [contest for contest, _ in rows]
    leaders = leaders_of(contests) if contests else {}

    def shown(contest: Contest, standing: Standing) -> Leader:
        return Leader(standing.rank, standing.name, score_label(contest, standing))

    return [
        RunningContest(contest, int(n), [shown(contest, s) for s in leaders.get(contest.id, []) if s.total > 0])
        for contest, n in rows
    ]


# ---- Clubs ----------------------------------------------------------------------------------


@dataclass
class ClubCard:
    club: Club
    members: int
    joined: int  # active members who joined in the last ACTIVE_DAYS
    gifts: int  # donations received in the last ACTIVE_DAYS


@dataclass
class ClubChoice:
    city: str  # the visitor's choice, "" for none
    clubs: list[ClubCard]
    cities: list[str]


def clubs_to_join(city: str = "", count: int = CLUBS_SHOWN, now: datetime | None = None) -> ClubChoice:
    """Open clubs in ``city`` (any case), or everywhere, most active first; and the cities that
    have clubs, for the choice (two queries)."""
    city = city.strip()[:CITY_MAX]
    since = _now(now) - timedelta(days=ACTIVE_DAYS)
    active = MemberStatus.ACTIVE
    members = (
        select(
            Membership.club_id,
            func.count(Membership.id).label("n"),
            func.sum(case((Membership.joined_at >= since, 1), else_=0)).label("joined"),
        )
        .where(Membership.status == active)
        .group_by(Membership.club_id)
        .subquery()
    )
    gifts = (
        select(Donation.club_id, func.count(Donation.id).label("n"))
        .where(Donation.status == DonationStatus.PAID, Donation.paid_at >= since)
        .group_by(Donation.club_id)
        .subquery()
    )
    joined, given = func.coalesce(members.c.joined, 0), func.coalesce(gifts.c.n, 0)
    recent = joined + given
    listed = and_(Club.closed_at.is_(None), Club.hidden.is_(False))
    query = (
        select(Club, func.coalesce(members.c.n, 0), joined, given)
        .outerjoin(members, members.c.club_id == Club.id)
        .outerjoin(gifts, gifts.c.club_id == Club.id)
        .where(listed)
    )
    if city:
        query = query.where(func.lower(Club.city) == city.lower())
    rows = db.session.execute(
        query.order_by(recent.desc(), func.coalesce(members.c.n, 0).desc(), Club.name, Club.id).limit(count)
    ).all()
    cities = list(db.session.scalars(select(Club.city).where(listed).distinct().order_by(Club.city)))
    return ClubChoice(city=city, clubs=[ClubCard(c, int(m), int(j), int(g)) for c, m, j, g in rows], cities=cities)


# ---- The signed-in reader -------------------------------------------------------------------


@dataclass
class ReaderHome:
    clubs: list[MyClub]
    recent_reads: list[ReadingLog]
    progress: YearProgress
    unread: int
    notifications: list[Notification]


def _reading(user: User, year: int, reads: int) -> tuple[list[ReadingLog], YearProgress]:
    """The latest ``reads`` entries of the reading log, and the books, pages and goal of ``year``,
    in one query: one row per entry (or a single row without an entry), each with the year's figures."""
    in_year = and_(
        ReadingLog.user_id == user.id,
        ReadingLog.finished_on >= date(year, 1, 1),
        ReadingLog.finished_on <= date(year, 12, 31),
        ReadingLog.confirmed.is_(True),
    )
    latest = (
        select(ReadingLog.id)
        .where(ReadingLog.user_id == user.id)
        .order_by(ReadingLog.finished_on.desc(), ReadingLog.id.desc())
        .limit(reads)
    )
    anchor = select(literal(1).label("one")).subquery()
    rows = db.session.execute(
        select(
            ReadingLog,
            select(func.count(ReadingLog.id)).where(in_year).scalar_subquery(),
            select(func.coalesce(func.sum(ReadingLog.pages), 0)).where(in_year).scalar_subquery(),
            select(ReadingGoal.books).where(ReadingGoal.user_id == user.id, ReadingGoal.year == year).scalar_subquery(),
        )
        .select_from(anchor)
        .outerjoin(ReadingLog, ReadingLog.id.in_(latest))
        .order_by(ReadingLog.finished_on.desc(), ReadingLog.id.desc())
    ).all()
    _, books, pages, goal = rows[0]
    entries = [entry for entry, *_ in rows if entry is not None]
    return entries, YearProgress(year=year, books=int(books or 0), pages=int(pages or 0), goal=goal)


def reader_home(user: User, reads: int = 3, notes: int = 3, now: datetime | None = None) -> ReaderHome:
    """A reader's clubs, latest reading with this year's goal, and unread notifications (three queries)."""
    recent_reads, progress = _reading(user, local_today(user, now).year, reads)
    # The window count is taken before LIMIT: every row carries the number of unread ones.
    unread_rows = db.session.execute(
        select(Notification, func.count().over())
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .order_by(Notification.id.desc())
        .limit(notes)
    ).all()
    return ReaderHome(
        clubs=my_clubs(user, now=now),
        recent_reads=recent_reads,
        progress=progress,
        unread=int(unread_rows[0][1]) if unread_rows else 0,
        notifications=[n for n, _ in unread_rows],
    )
