"""What the contest pages show, each in a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import func, select

from app.extensions import db
from app.models import Contest, ContestEntry, ContestFlag, ContestStatus, ReadingLog, User


@dataclass
class ContestCard:
    contest: Contest
    entrants: int


@dataclass
class Listing:
    running: list[ContestCard] = field(default_factory=list)
    upcoming: list[ContestCard] = field(default_factory=list)
    results: list[ContestCard] = field(default_factory=list)

    def all(self) -> list[ContestCard]:
        return self.running + self.upcoming + self.results


def contest_listing(include_drafts: bool = False, now: datetime | None = None) -> Listing:
    """Running, upcoming (drafts too, for admins) and finished contests with entrant counts (one query)."""
    now = now or datetime.now(UTC)
    entrants = (
        select(ContestEntry.contest_id, func.count(ContestEntry.id).label("entrants"))
        .group_by(ContestEntry.contest_id)
        .subquery()
    )
    statuses = [ContestStatus.OPEN, ContestStatus.SCORING, ContestStatus.FINISHED]
    if include_drafts:
        statuses.append(ContestStatus.DRAFT)
    rows = db.session.execute(
        select(Contest, func.coalesce(entrants.c.entrants, 0))
        .outerjoin(entrants, entrants.c.contest_id == Contest.id)
        .where(Contest.status.in_(statuses))
        .order_by(Contest.starts_at, Contest.id)
    ).all()
    listing = Listing()
    for contest, count in rows:
        card = ContestCard(contest, int(count))
        if contest.status in (ContestStatus.SCORING, ContestStatus.FINISHED):
            listing.results.append(card)
        elif contest.status == ContestStatus.DRAFT or contest.starts_at > now:
            listing.upcoming.append(card)
        else:
            listing.running.append(card)
    listing.results.sort(key=lambda c: c.contest.ends_at, reverse=True)
    return listing


def entries_by(contest: Contest, user: User, club_ids: list[int]) -> tuple[bool, set[int]]:
    """Whether ``user`` joined this reader contest, and which of ``club_ids`` are entered (one query)."""
    if not getattr(user, "is_authenticated", False):
        return False, set()
    rows = db.session.execute(
        select(ContestEntry.user_id, ContestEntry.club_id).where(
            ContestEntry.contest_id == contest.id,
            (ContestEntry.user_id == user.id) | ContestEntry.club_id.in_(club_ids or [-1]),
        )
    ).all()
    return any(user_id == user.id for user_id, _ in rows), {club_id for _, club_id in rows if club_id}


@dataclass
class FlagRow:
    flag: ContestFlag
    entry: ReadingLog
    reader: str


def open_flags(contest: Contest) -> list[FlagRow]:
    """Flags waiting for an admin, with the flagged entry and its reader (one query)."""
    rows = db.session.execute(
        select(ContestFlag, ReadingLog, User.name)
        .join(ReadingLog, ReadingLog.id == ContestFlag.reading_log_id)
        .join(User, User.id == ReadingLog.user_id)
        .where(ContestFlag.contest_id == contest.id, ContestFlag.status == ContestFlag.OPEN)
        .order_by(ContestFlag.id)
    ).all()
    return [FlagRow(flag, entry, name) for flag, entry, name in rows]
