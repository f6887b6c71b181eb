"""The clubs a reader belongs to, each with what to do next there (one query, whatever the count).

Owners and moderators see what waits for them (join requests, book offers); members see the
club's donation goal, or the contest the club is running in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from app.contests.leaderboard import live_standings_of
from app.contests.scoring import Standing
from app.extensions import db
from app.models import (
    BookOffer,
    Club,
    Contest,
    ContestEntry,
    ContestStatus,
    FundEntry,
    Membership,
    MemberStatus,
    Role,
    User,
)


@dataclass
class MyClub:
    club: Club
    membership: Membership
    members: int
    pending_requests: int
    pending_offers: int
    raised_cents: int
    contest: Contest | None  # a contest under way that the club entered
    standing: Standing | None = None  # the club's place in it
    entrants: int = 0

    @property
    def role(self) -> str:
        return self.membership.role

    @property
    def moderates(self) -> bool:
        return self.membership.role in (Role.OWNER, Role.MODERATOR)

    @property
    def waiting(self) -> int:
        """Decisions waiting for an owner or moderator."""
        return self.pending_requests + self.pending_offers if self.moderates else 0

    @property
    def goal_percent(self) -> int:
        goal = self.club.donation_goal_cents
        return min(100, round(100 * max(self.raised_cents, 0) / goal)) if goal else 0


def _count_by_club(column, *where):
    return select(column.label("club_id"), func.count().label("n")).where(*where).group_by(column).subquery()


def my_clubs(user: User, now: datetime | None = None) -> list[MyClub]:
    """The reader's active memberships, by club name, with counts, and the club's place in a contest
    under way (two queries at most: the clubs, and the standings the cache does not hold)."""
    now = now or datetime.now(UTC)
    members = _count_by_club(Membership.club_id, Membership.status == MemberStatus.ACTIVE)
    requests = _count_by_club(Membership.club_id, Membership.status == MemberStatus.PENDING)
    offers = _count_by_club(BookOffer.club_id, BookOffer.status == BookOffer.PENDING)
    raised = (
        select(FundEntry.club_id, func.sum(FundEntry.amount_cents).label("cents"))
        .where(FundEntry.kind.in_((FundEntry.DONATION, FundEntry.REVERSAL)))
        .group_by(FundEntry.club_id)
        .subquery()
    )
    # One running contest per club (the one ending first is the most urgent).
    running = (
        select(
            ContestEntry.club_id,
            Contest.id.label("contest_id"),
            func.row_number()
            .over(partition_by=ContestEntry.club_id, order_by=(Contest.ends_at, Contest.id))
            .label("n"),
        )
        .join(Contest, Contest.id == ContestEntry.contest_id)
        .where(
            ContestEntry.club_id.is_not(None),
            Contest.status == ContestStatus.OPEN,
            Contest.starts_at <= now,
            Contest.ends_at > now,
        )
        .subquery()
    )
    contest = aliased(Contest)
    rows = db.session.execute(
        select(
            Club,
            Membership,
            func.coalesce(members.c.n, 0),
            func.coalesce(requests.c.n, 0),
            func.coalesce(offers.c.n, 0),
            func.coalesce(raised.c.cents, 0),
            contest,
        )
        .join(Membership, Membership.club_id == Club.id)
        .outerjoin(members, members.c.club_id == Club.id)
        .outerjoin(requests, requests.c.club_id == Club.id)
        .outerjoin(offers, offers.c.club_id == Club.id)
        .outerjoin(raised, raised.c.club_id == Club.id)
        .outerjoin(running, (running.c.club_id == Club.id) & (running.c.n == 1))
        .outerjoin(contest, contest.id == running.c.contest_id)
        .where(Membership.user_id == user.id, Membership.status == MemberStatus.ACTIVE)
        .order_by(Club.closed_at.is_not(None), Club.name, Club.id)
    ).all()
    clubs = [
        MyClub(club, membership, int(m), int(r), int(o), int(c), entered)
        for club, membership, m, r, o, c, entered in rows
    ]
    contests = list({item.contest.id: item.contest for item in clubs if item.contest is not None}.values())
    standings = live_standings_of(contests) if contests else {}
    for item in clubs:
        if item.contest is not None:
            ranking = standings.get(item.contest.id, [])
            item.entrants = len(ranking)
            item.standing = next((s for s in ranking if s.entrant_id == item.club.id), None)
    return clubs
