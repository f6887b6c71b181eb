"""Who may do what in a club: the one place every club route asks.

A viewer's standing in a club is one of: anonymous, outsider (signed in, not a member),
pending, banned, member, moderator, owner; admins may do everything. A private club hides
itself from those who cannot see it (404); a visible club refuses an action with 403.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import abort
from flask_login import current_user
from sqlalchemy import select

from app.extensions import db
from app.models import Club, Membership, MemberStatus, Role

# The least standing each action needs.
VIEW_PRIVATE = "member"
ACTIONS = {
    "view_listing": "anonymous",  # a club's name and place, as the directory shows them to anyone
    "view": None,  # anyone, for public clubs; members for private ones
    "view_members": "member",
    "leave": "member",
    "offer_book": "member",
    "donate": "signed_in",
    "join": "signed_in",
    "moderate": "moderator",  # approve or decline join requests, decide book offers
    "manage": "owner",  # edit, roles, remove or ban, transfer, close, wishlist, fund
}
LEVEL = {"anonymous": 0, "signed_in": 1, "member": 2, "moderator": 3, "owner": 4}


@dataclass
class Standing:
    club: Club
    membership: Membership | None
    is_admin: bool = False
    signed_in: bool = False

    @property
    def role(self) -> str | None:
        if self.membership is None or self.membership.status != MemberStatus.ACTIVE:
            return None
        return self.membership.role

    @property
    def level(self) -> int:
        if self.is_admin:
            return LEVEL["owner"]
        role = self.role
        if role:
            return LEVEL[role]
        return LEVEL["signed_in"] if self.signed_in else LEVEL["anonymous"]

    @property
    def is_pending(self) -> bool:
        return self.membership is not None and self.membership.status == MemberStatus.PENDING

    @property
    def is_banned(self) -> bool:
        return self.membership is not None and self.membership.status == MemberStatus.BANNED

    @property
    def is_member(self) -> bool:
        return self.role is not None

    @property
    def is_owner(self) -> bool:
        return self.role == Role.OWNER

    @property
    def can_see(self) -> bool:
        """Private clubs show their inside only to members (and admins)."""
        return not self.club.is_private or self.level >= LEVEL["member"]

    def can(self, action: str) -> bool:
        needed = ACTIONS[action]
        if action == "join":
            return self.signed_in and self.membership is None and self.club.closed_at is None
        if action in ("donate", "offer_book") and self.is_banned:
            return False
        if action == "donate" and not self.can_see:
            return False  # a private club takes money only from its members
        if needed is None:
            return self.can_see
        return self.level >= LEVEL[needed]


def standing_in(club: Club, user=None) -> Standing:
    user = user if user is not None else current_user
    signed_in = bool(getattr(user, "is_authenticated", False))
    membership = None
    if signed_in:
        membership = db.session.scalar(
            select(Membership).where(Membership.club_id == club.id, Membership.user_id == user.id)
        )
    return Standing(club=club, membership=membership, is_admin=signed_in and user.is_admin, signed_in=signed_in)


def club_or_404(slug: str) -> Club:
    club = db.session.scalar(select(Club).where(Club.slug == slug))
    if club is None:
        abort(404)
    return club


def require(slug: str, action: str) -> Standing:
    """The club and the viewer's standing, or abort: 404 for what a private club hides, else 403.

    Signed-out visitors asked to sign in get sent to the log-in page instead of a 403.
    """
    club = club_or_404(slug)
    standing = standing_in(club)
    if standing.can(action):
        return standing
    if not standing.can_see and action != "join":
        abort(404)
    if not standing.signed_in:
        from app.extensions import login_manager

        abort(login_manager.unauthorized())
    abort(403)
