"""Who may do what with a contest: the one place the contest pages ask.

Admins may do everything. A club owner may host club-against-club contests for a club they
own, open or cancel those, enter their clubs, and flag entries while results are provisional.
Drafts are seen only by those who can open them.
"""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import Club, Contest, ContestEntry, ContestStatus, Membership, MemberStatus, Role, User


def owned_clubs(user: User) -> list[Club]:
    """Open clubs ``user`` owns, by name (one query)."""
    if not getattr(user, "is_authenticated", False):
        return []
    return list(
        db.session.scalars(
            select(Club)
            .join(Membership, Membership.club_id == Club.id)
            .where(
                Membership.user_id == user.id,
                Membership.role == Role.OWNER,
                Membership.status == MemberStatus.ACTIVE,
                Club.closed_at.is_(None),
            )
            .order_by(Club.name)
        )
    )


def _owns(user: User, club_id: int | None) -> bool:
    if club_id is None or not getattr(user, "is_authenticated", False):
        return False
    return (
        db.session.scalar(
            select(Membership.id).where(
                Membership.club_id == club_id,
                Membership.user_id == user.id,
                Membership.role == Role.OWNER,
                Membership.status == MemberStatus.ACTIVE,
            )
        )
        is not None
    )


def is_admin(user: User) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_admin)


def can_create(user: User, clubs: list[Club] | None = None) -> bool:
    """Admins, and owners of at least one open club (who host club contests only)."""
    return is_admin(user) or bool(owned_clubs(user) if clubs is None else clubs)


def can_manage(contest: Contest, user: User) -> bool:
    """Open or cancel: admins, or the owner of the host club."""
    return is_admin(user) or _owns(user, contest.host_club_id)


def can_see(contest: Contest, user: User) -> bool:
    return contest.status != ContestStatus.DRAFT or can_manage(contest, user)


def can_flag(contest: Contest, user: User) -> bool:
    """Admins; owners of an entrant club (club contests); entrants (reader contests)."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.is_admin:
        return True
    if contest.is_club_contest:
        return (
            db.session.scalar(
                select(ContestEntry.id)
                .join(Membership, Membership.club_id == ContestEntry.club_id)
                .where(
                    ContestEntry.contest_id == contest.id,
                    Membership.user_id == user.id,
                    Membership.role == Role.OWNER,
                    Membership.status == MemberStatus.ACTIVE,
                )
                .limit(1)
            )
            is not None
        )
    return (
        db.session.scalar(
            select(ContestEntry.id).where(ContestEntry.contest_id == contest.id, ContestEntry.user_id == user.id)
        )
        is not None
    )
