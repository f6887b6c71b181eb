"""Club tests, and the helpers they share: starting clubs and adding members like a reader would.

Helpers return plain copies (ids, slugs), never ORM objects, so nothing is held across requests.
"""

from __future__ import annotations

from types import SimpleNamespace

from sqlalchemy import select

from app.clubs.services import create_club
from app.extensions import db
from app.models import Membership, MemberStatus, Role, User
from tests.helpers import make_user

HTMX = {"HX-Request": "true", "HX-Request-Type": "partial"}


def user_id(email: str) -> int:
    return db.session.scalar(select(User.id).where(User.email == email))


def start_club(
    owner_email: str = "owner@example.com",
    owner_name: str = "Olive Owner",
    name: str = "Paris Readers",
    city: str = "Paris",
    country: str = "France",
    latitude: float | None = None,
    longitude: float | None = None,
    visibility: str = "public",
    join_questions: list[str] | None = None,
    donation_goal_cents: int = 0,
    description: str = "",
    region: str = "",
) -> SimpleNamespace:
    """A club with its owner (created if needed). Call inside an app context."""
    owner = db.session.scalar(select(User).where(User.email == owner_email)) or make_user(
        email=owner_email, name=owner_name
    )
    club = create_club(
        owner,
        name=name,
        description=description,
        city=city,
        region=region,
        country=country,
        latitude=latitude,
        longitude=longitude,
        visibility=visibility,
        donation_goal_cents=donation_goal_cents,
        join_questions=join_questions or [],
    )
    return SimpleNamespace(id=club.id, slug=club.slug, name=club.name, owner_id=owner.id)


def add_member(
    club_id: int, email: str, name: str, role: str = Role.MEMBER, status: str = MemberStatus.ACTIVE, answers=None
) -> int:
    """A member put straight into the club (for tests that are not about joining); the membership id."""
    user = db.session.scalar(select(User).where(User.email == email)) or make_user(email=email, name=name)
    membership = Membership(
        club_id=club_id, user_id=user.id, role=role, status=status, details={"answers": answers} if answers else {}
    )
    db.session.add(membership)
    db.session.commit()
    return membership.id


def standing_of(club_id: int, email: str) -> tuple[str, str] | None:
    """(role, status) of a reader in a club, or None when they are not in it."""
    db.session.expire_all()
    row = db.session.execute(
        select(Membership.role, Membership.status).where(
            Membership.club_id == club_id, Membership.user_id == user_id(email)
        )
    ).first()
    return (row[0], row[1]) if row else None
