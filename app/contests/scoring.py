"""Standings: one set-based query per contest, whatever the number of entrants.

Events are confirmed reading-log entries, received donations and donated books whose moment
falls inside the window, both ends included. A club scores what its active members read and
what it was given; a reader scores what they read and gave. Per-member scoring divides a club's
total by its active members, with a floor (3 by default) so a one-person club cannot win on one
reader. Ties go to the higher participation rate, then to whoever reached the score first.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, fields
from datetime import datetime

from sqlalchemy import and_, bindparam, func, literal, select, union_all
from sqlalchemy.orm import aliased

from app.extensions import db
from app.models import (
    Club,
    Contest,
    ContestEntry,
    ContestFlag,
    Donation,
    DonationStatus,
    Membership,
    MemberStatus,
    Metric,
    ReadingLog,
    Scoring,
    ShelfBook,
    User,
)

# Donations that count: received, and those refunded (they count net of the refund, often 0).
RECEIVED = (DonationStatus.PAID.value, DonationStatus.REFUNDED.value)

TIE_BREAK_RULE = (
    "Ties go to the higher participation rate (the share of members who took part), "
    "then to whoever reached the score first."
)


@dataclass
class Standing:
    rank: int
    entrant_id: int
    name: str
    score: float  # what ranks: the total, or the total per member
    total: int  # the raw total (books, pages, cents)
    members: int
    participants: int
    participation: float
    reached_at: str | None  # ISO time of the last counted event

    def as_dict(self) -> dict:
        # The fields are all scalars: no need for ``dataclasses.asdict``'s deep copy, which took
        # 2 s of a profiled job for 10,000 entrants.
        return {name: getattr(self, name) for name in _FIELDS}


_FIELDS = tuple(field.name for field in fields(Standing))


def formula(contest: Contest) -> str:
    """The scoring rule in words, for the contest page."""
    what = Metric.LABELS[contest.metric].lower()
    if contest.is_club_contest and contest.scoring == Scoring.PER_MEMBER:
        return (
            f"Score = {what} by the club ÷ its active members (counted as at least "
            f"{contest.member_floor}, so a tiny club cannot win on one reader)."
        )
    if contest.is_club_contest:
        return (
            f"Score = total {what} by the club's active members."
            if contest.metric in (Metric.BOOKS_READ, Metric.PAGES_READ)
            else f"Score = total {what} to the club."
        )
    return f"Score = your total {what}."


def _window(column, contest: Contest):
    return and_(column >= contest.starts_at, column <= contest.ends_at)


def _events(contest: Contest):
    """(entrant_id, user_id, value, at) for every event that counts, as one SELECT."""
    entries = select(ContestEntry).where(ContestEntry.contest_id == contest.id).subquery()
    if contest.metric in (Metric.BOOKS_READ, Metric.PAGES_READ):
        return _reading_events(contest, entries)
    if contest.metric == Metric.MONEY_DONATED:
        return _donation_events(contest, entries)
    return _shelf_events(contest, entries)


def _reading_events(contest: Contest, entries):
    """Confirmed, unflagged books finished in the window: one each, or their pages."""
    upheld = select(ContestFlag.reading_log_id).where(
        ContestFlag.contest_id == contest.id, ContestFlag.status == ContestFlag.UPHELD
    )
    reading_ok = and_(
        ReadingLog.confirmed.is_(True), ReadingLog.id.not_in(upheld), _window(ReadingLog.finished_at, contest)
    )
    value = {Metric.BOOKS_READ: literal(1), Metric.PAGES_READ: ReadingLog.pages}[contest.metric]
    entrant = entries.c.club_id if contest.is_club_contest else entries.c.user_id
    query = select(
        entrant.label("entrant_id"), ReadingLog.user_id, value.label("value"), ReadingLog.finished_at.label("at")
    )
    if contest.is_club_contest:
        active = and_(Membership.club_id == entries.c.club_id, Membership.status == MemberStatus.ACTIVE)
        query = query.join(Membership, active).join(ReadingLog, ReadingLog.user_id == Membership.user_id)
    else:
        query = query.join(ReadingLog, ReadingLog.user_id == entries.c.user_id)
    return query.where(reading_ok)


def _donation_events(contest: Contest, entries):
    """Money given in the window, net of refunds."""
    clubs = contest.is_club_contest
    # The statuses as literals, not parameters: the planner can then use ix_donations_received (a
    # partial index on exactly these statuses) even for a prepared statement's generic plan.
    received = bindparam("received", list(RECEIVED), expanding=True, literal_execute=True, unique=True)
    paid = and_(Donation.status.in_(received), _window(Donation.paid_at, contest))
    net = (Donation.amount_cents - Donation.refunded_cents).label("value")
    link = Donation.club_id == entries.c.club_id if clubs else Donation.user_id == entries.c.user_id
    entrant = entries.c.club_id if clubs else entries.c.user_id
    return (
        select(entrant.label("entrant_id"), Donation.user_id, net, Donation.paid_at.label("at"))
        .join(Donation, link)
        .where(paid)
    )


def _shelf_events(contest: Contest, entries):
    """Books donated: accepted offers and gifts bought for a club, when they reached the shelf."""
    clubs = contest.is_club_contest
    given = and_(ShelfBook.source.in_(("offer", "gift")), _window(ShelfBook.added_at, contest))
    link = ShelfBook.club_id == entries.c.club_id if clubs else ShelfBook.given_by_id == entries.c.user_id
    entrant = entries.c.club_id if clubs else entries.c.user_id
    return (
        select(
            entrant.label("entrant_id"),
            ShelfBook.given_by_id.label("user_id"),
            literal(1).label("value"),
            ShelfBook.added_at.label("at"),
        )
        .join(ShelfBook, link)
        .where(given)
    )


def standings_query(contest: Contest):
    """The SELECT of every entrant's (id, name, total, participants, reached_at, members, city)."""
    totals = _totals(contest, _events(contest).subquery("events"))
    return _entrant_rows(contest, totals).where(ContestEntry.contest_id == contest.id)


def compute_standings(contest: Contest) -> list[Standing]:
    """Rank every entrant (those without events too) in one query."""
    rows = db.session.execute(standings_query(contest)).all()
    return rank(contest, _named_apart(rows))


def _named_apart(rows) -> list[tuple]:
    """Entrant rows with the place added to names that two entrants share ("Readers (Lyon)")."""
    counts = Counter(row[1].casefold() for row in rows)
    return [
        (row[0], f"{row[1]} ({row[6]})" if counts[row[1].casefold()] > 1 and row[6] else row[1], *row[2:6])
        for row in rows
    ]


def compute_many(contests: list[Contest]) -> dict[int, list[Standing]]:
    """Rank the entrants of several contests in one query (a UNION of each contest's ranking)."""
    if not contests:
        return {}
    parts = []
    for contest in contests:
        totals = _totals(contest, _events(contest).subquery("events"))
        query = _entrant_rows(contest, totals).add_columns(literal(contest.id).label("contest_id"))
        parts.append(query.where(ContestEntry.contest_id == contest.id))
    rows: dict[int, list] = {contest.id: [] for contest in contests}
    for *row, contest_id in db.session.execute(union_all(*parts)).all():
        rows[int(contest_id)].append(row)
    return {contest.id: rank(contest, _named_apart(rows[contest.id])) for contest in contests}


def _totals(contest: Contest, events):
    """Per entrant: the sum of its events, how many took part, and when it reached its total.

    Aggregated twice: first per (entrant, person), which folds millions of events into one row
    per person who took part; then per entrant over those few rows. Each person is then one row,
    so counting participants needs no COUNT(DISTINCT), which would sort every event.
    """
    people = (
        select(
            events.c.entrant_id,
            events.c.user_id,
            func.sum(events.c.value).label("value"),
            func.max(events.c.at).label("at"),
        )
        .group_by(events.c.entrant_id, events.c.user_id)
        .subquery("people")
    )
    participant = people.c.user_id
    totals = select(people.c.entrant_id, func.sum(people.c.value).label("total"))
    if contest.is_club_contest:
        # Participation counts the club's own members: outside donors add money, not members.
        # A person is one row of ``people`` and one membership at most (unique per club and user).
        member = aliased(Membership)
        totals = totals.outerjoin(
            member,
            and_(
                member.club_id == people.c.entrant_id,
                member.user_id == people.c.user_id,
                member.status == MemberStatus.ACTIVE,
            ),
        )
        participant = member.user_id
    return (
        totals.add_columns(
            func.count(participant).label("participants"),
            func.max(people.c.at).label("reached_at"),
        )
        .group_by(people.c.entrant_id)
        .subquery("totals")
    )


def _entrant_rows(contest: Contest, totals):
    """(entrant id, name, total, participants, reached_at, members, city) for every entrant.

    A club counts its active members; a reader is one.
    """
    if contest.is_club_contest:
        members = (
            select(Membership.club_id, func.count(Membership.id).label("members"))
            .where(Membership.status == MemberStatus.ACTIVE)
            .group_by(Membership.club_id)
            .subquery("members")
        )
        entrant, named, member_count = ContestEntry.club_id, Club, func.coalesce(members.c.members, 0)
    else:
        entrant, named, member_count = ContestEntry.user_id, User, literal(1)
    query = (
        select(
            entrant,
            named.name,
            func.coalesce(totals.c.total, 0),
            func.coalesce(totals.c.participants, 0),
            totals.c.reached_at,
            member_count,
            Club.city if contest.is_club_contest else literal(""),  # tells clubs of one name apart
        )
        .join(named, named.id == entrant)
        .outerjoin(totals, totals.c.entrant_id == entrant)
    )
    if contest.is_club_contest:
        query = query.outerjoin(members, members.c.club_id == ContestEntry.club_id)
    return query


def rank(contest: Contest, rows) -> list[Standing]:
    """Order and number the entrants: score, then participation, then the earlier finish."""
    per_member = contest.is_club_contest and contest.scoring == Scoring.PER_MEMBER
    scored = []
    for entrant_id, name, total, participants, reached_at, members in rows:
        total, members, participants = int(total), int(members), int(participants)
        divisor = max(members, contest.member_floor) if per_member else 1
        score = round(total / divisor, 4)
        participation = round(participants / members, 4) if members else 0.0
        reached = _as_utc(reached_at)
        scored.append((entrant_id, name, score, total, members, participants, participation, reached))
    far = datetime.max.replace(tzinfo=None)
    scored.sort(key=lambda s: (-s[2], -s[6], (s[7].replace(tzinfo=None) if s[7] else far), s[1].lower(), s[0]))
    standings: list[Standing] = []
    for position, (entrant_id, name, score, total, members, participants, participation, reached) in enumerate(
        scored, start=1
    ):
        previous = standings[-1] if standings else None
        same = previous and (previous.score, previous.participation, previous.reached_at) == (
            score,
            participation,
            reached.isoformat() if reached else None,
        )
        standings.append(
            Standing(
                rank=previous.rank if same else position,
                entrant_id=entrant_id,
                name=name,
                score=score,
                total=total,
                members=members,
                participants=participants,
                participation=participation,
                reached_at=reached.isoformat() if reached else None,
            )
        )
    return standings


def _as_utc(value) -> datetime | None:
    from datetime import UTC

    if value is None:
        return None
    if isinstance(value, str):  # SQLite returns max() of a timestamp as text
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


__all__ = ["TIE_BREAK_RULE", "Standing", "compute_many", "compute_standings", "formula"]
