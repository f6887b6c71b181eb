"""Club rules: creating and editing clubs, joining, moderating, roles, ownership, closing."""

from __future__ import annotations

import logging

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.catalogue.services import slugify
from app.extensions import db
from app.formatting import money
from app.models import Club, Donation, DonationStatus, Membership, MemberStatus, Role, User, Visibility
from app.models.base import utcnow
from app.models.clubs import club_name_key
from app.notifications.email import record_email
from app.notifications.inbox import mark_done

log = logging.getLogger(__name__)

MAX_QUESTIONS = 5
# Slugs that name a page under /clubs/ rather than a club.
RESERVED_SLUGS = {"new", "mine"}


class ClubError(ValueError):
    """A club change the rules refuse; the message is for the person who tried."""


class ClubNameTaken(ClubError):
    """Another club in the same city has this name (the form shows it on the name field)."""


def _check_name_free(name: str, city: str, club_id: int | None = None) -> None:
    clash = db.session.execute(
        select(Club.name, Club.city).where(Club.name_key == club_name_key(name, city), Club.id != (club_id or 0))
    ).first()
    if clash is not None:
        raise ClubNameTaken(f"There is already a club called “{clash.name}” in {clash.city}. Pick another name.")


def _commit_named(name: str, city: str) -> None:
    """Commit a new or renamed club; a club named the same in the same city a moment ago loses."""
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        _check_name_free(name, city)
        raise


def _unique_slug(name: str) -> str:
    base = slugify(name, max_length=60)
    taken = set(db.session.scalars(select(Club.slug).where(Club.slug.like(f"{base}%")))) | RESERVED_SLUGS
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def _clean_questions(questions: list[str]) -> list[str]:
    cleaned = [q.strip() for q in questions if q and q.strip()]
    if len(cleaned) > MAX_QUESTIONS:
        raise ClubError(f"Ask at most {MAX_QUESTIONS} join questions.")
    return cleaned


def create_club(owner: User, **fields) -> Club:
    """Create a club; its creator becomes the owner."""
    questions = _clean_questions(fields.pop("join_questions", []) or [])
    _check_name_free(fields["name"], fields["city"])
    club = Club(slug=_unique_slug(fields["name"]), settings={"join_questions": questions}, **fields)
    db.session.add(club)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        _check_name_free(fields["name"], fields["city"])
        raise
    db.session.add(Membership(club_id=club.id, user_id=owner.id, role=Role.OWNER, status=MemberStatus.ACTIVE))
    db.session.commit()
    return club


def update_club(club: Club, **fields) -> Club:
    """Save the owner's edits (the slug stays, so links keep working)."""
    questions = _clean_questions(fields.pop("join_questions", []) or [])
    name, city = fields.get("name", club.name), fields.get("city", club.city)
    _check_name_free(name, city, club.id)
    for key, value in fields.items():
        setattr(club, key, value)
    club.settings = {**(club.settings or {}), "join_questions": questions}
    _commit_named(name, city)
    return club


def member_count(club: Club) -> int:
    return db.session.scalar(
        select(func.count(Membership.id)).where(Membership.club_id == club.id, Membership.status == MemberStatus.ACTIVE)
    )


def owner_of(club: Club) -> User | None:
    return db.session.scalar(
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.club_id == club.id, Membership.role == Role.OWNER)
    )


def join_club(club: Club, user: User, answers: dict[str, str] | None = None) -> Membership:
    """Join a public club at once, or ask to join a private one (with answers to its questions)."""
    if club.closed_at is not None:
        raise ClubError("This club is closed.")
    questions = club.join_questions
    answers = {q: (answers or {}).get(q, "").strip() for q in questions}
    if club.is_private and any(not a for a in answers.values()):
        raise ClubError("Please answer every question.")
    status = MemberStatus.PENDING if club.is_private else MemberStatus.ACTIVE
    membership = Membership(
        club_id=club.id,
        user_id=user.id,
        role=Role.MEMBER,
        status=status,
        details={"answers": answers} if answers else {},
    )
    db.session.add(membership)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise ClubError("You are already in this club, or have asked to join it.") from None
    if status == MemberStatus.PENDING:
        owner = owner_of(club)
        if owner is not None:
            record_email(
                key=join_request_key(membership.id),
                template="club_join_request",
                to=owner.email,
                subject=f"{user.name} asks to join {club.name}",
                user=owner,
                club=club,
                requester=user,
                answers=answers,
            )
    db.session.commit()
    return membership


def join_request_key(membership_id: int) -> str:
    """The join request's email (and notification) key: deciding the request settles it."""
    return f"join-request:{membership_id}"


def _membership(club: Club, membership_id: int) -> Membership:
    membership = db.session.get(Membership, membership_id)
    if membership is None or membership.club_id != club.id:
        raise ClubError("That person is not in this club.")
    return membership


def decide_join_request(club: Club, membership_id: int, approve: bool) -> Membership | None:
    """Approve (active member) or decline (request removed) a pending request; the asker is told."""
    membership = _membership(club, membership_id)
    if membership.status != MemberStatus.PENDING:
        raise ClubError("That request was already decided.")
    user = db.session.get(User, membership.user_id)
    if approve:
        membership.status = MemberStatus.ACTIVE
        membership.joined_at = utcnow()
    else:
        db.session.delete(membership)
    mark_done(join_request_key(membership_id))
    record_email(
        key=f"join-decision:{club.id}:{user.id}:{membership_id}",
        template="club_join_decision",
        to=user.email,
        subject=f"Your request to join {club.name}",
        user=user,
        club=club,
        approved=approve,
    )
    db.session.commit()
    return membership if approve else None


def leave_club(club: Club, user: User) -> None:
    membership = db.session.scalar(
        select(Membership).where(Membership.club_id == club.id, Membership.user_id == user.id)
    )
    if membership is None:
        raise ClubError("You are not in this club.")
    if membership.role == Role.OWNER:
        raise ClubError("The owner cannot leave: transfer ownership first, or close the club.")
    if membership.status == MemberStatus.PENDING:
        mark_done(join_request_key(membership.id))  # a withdrawn request needs no answer
    db.session.delete(membership)
    db.session.commit()


def set_role(club: Club, membership_id: int, role: str) -> Membership:
    """Promote a member to moderator or demote a moderator (ownership moves by transfer only)."""
    if role not in (Role.MEMBER, Role.MODERATOR):
        raise ClubError("Choose member or moderator.")
    membership = _membership(club, membership_id)
    if membership.role == Role.OWNER:
        raise ClubError("The owner's role changes only by transferring ownership.")
    if membership.status != MemberStatus.ACTIVE:
        raise ClubError("Only active members can be given a role.")
    membership.role = role
    db.session.commit()
    return membership


def remove_member(club: Club, membership_id: int, ban: bool = False) -> None:
    """Remove someone from the club; a ban also stops them asking again."""
    membership = _membership(club, membership_id)
    if membership.role == Role.OWNER:
        raise ClubError("The owner cannot be removed.")
    if ban:
        membership.status = MemberStatus.BANNED
        membership.role = Role.MEMBER
    else:
        db.session.delete(membership)
    db.session.commit()


def unban_member(club: Club, membership_id: int) -> None:
    membership = _membership(club, membership_id)
    if membership.status != MemberStatus.BANNED:
        raise ClubError("That person is not banned.")
    db.session.delete(membership)
    db.session.commit()


def transfer_ownership(club: Club, current_owner: User, membership_id: int) -> None:
    """Hand the club to an active member; the old owner stays on as a moderator."""
    new = _membership(club, membership_id)
    if new.status != MemberStatus.ACTIVE or new.role == Role.OWNER:
        raise ClubError("Ownership can go only to another active member.")
    old = db.session.scalar(select(Membership).where(Membership.club_id == club.id, Membership.role == Role.OWNER))
    if old is not None:
        old.role = Role.MODERATOR
    new.role = Role.OWNER
    db.session.commit()


def set_club_hidden(club: Club, hidden: bool) -> None:
    """Hide a club from the directory (site and API), or list it again; an admin's moderation.

    Nothing else changes: members keep their club, and its page still answers to its link.
    """
    if club.closed_at is not None:
        raise ClubError("That club is closed; closed clubs are not listed anyway.")
    if club.hidden == hidden:
        raise ClubError(f"That club is already {'hidden' if hidden else 'listed'}.")
    club.hidden = hidden
    db.session.commit()


def close_club(club: Club) -> None:
    """Close the club; only with no money in the fund (what was given must be spent or returned).

    Donation checkouts still open are expired at the gateway, so nobody can pay them; a payment
    that lands anyway is refunded (``app.donations.target``). A fund below zero (a refund after
    the money was spent) holds nothing to strand, so it does not stop the closing.
    """
    from app.donations.fund import fund_balance
    from app.payments.gateway import GatewayError, get_gateway

    balance = fund_balance(club.id)
    if balance > 0:
        raise ClubError(
            f"The club fund still holds {money(balance)}. Spend it on books for the club "
            "(or have donations refunded) before closing."
        )
    club.closed_at = utcnow()
    gateway = get_gateway()
    open_donations = db.session.scalars(
        select(Donation).where(Donation.club_id == club.id, Donation.status.in_(DonationStatus.OPEN))
    ).all()
    sessions = []
    for donation in open_donations:
        if donation.checkout_session_id is None:
            donation.status = DonationStatus.EXPIRED  # never sent to the gateway: nothing to pay
        elif donation.gateway == gateway.name:
            sessions.append(donation.checkout_session_id)
    db.session.commit()  # closed first: a payment landing from now on sees the club closed
    for session_id in sessions:
        try:
            gateway.expire(session_id)
        except GatewayError as exc:
            log.warning("closing club %s: could not expire checkout %s (%s)", club.id, session_id, exc)


__all__ = ["ClubError", "Visibility"]
