"""Giving money to a club: the donation, its checkout, and the lists that show donations.

Anonymous donors are never named: every list here returns None for their name.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select

from app.donations.target import refusal_reason
from app.extensions import db
from app.models import Club, Donation, DonationStatus, User
from app.payments.checkout import checkout_request, insert_once, open_session, ready_to_pay
from app.payments.gateway import GatewayError, LineItem, get_gateway


class DonationError(ValueError):
    """The donation cannot go ahead; the message says why."""


class KeyReused(DonationError):
    """An idempotency key already used for a different donation."""


@dataclass
class DonationRow:
    donation: Donation
    donor_name: str | None  # None when anonymous
    club: Club | None = None


def donation_bounds() -> tuple[int, int]:
    return current_app.config["DONATION_MIN_CENTS"], current_app.config["DONATION_MAX_CENTS"]


def _given_under(donor_id: int, idempotency_key: str) -> Donation | None:
    return db.session.scalar(
        select(Donation).where(Donation.user_id == donor_id, Donation.idempotency_key == idempotency_key)
    )


def _same_donation(donation: Donation, club_id: int, amount_cents: int, message: str, anonymous: bool) -> Donation:
    if (donation.club_id, donation.amount_cents, donation.message, donation.anonymous) != (
        club_id,
        amount_cents,
        message,
        anonymous,
    ):
        raise KeyReused("This form was already sent with other details. Check them and send it again.")
    return donation


def create_donation(
    club: Club,
    donor: User,
    amount_cents: int,
    message: str = "",
    anonymous: bool = False,
    idempotency_key: str | None = None,
) -> Donation:
    """A pending donation within the configured bounds.

    With an ``idempotency_key`` (one per rendered form, or the API's ``Idempotency-Key``), a
    resend returns the donation the first send made, even when both arrive at once: the unique
    key lets only one insert win. Reusing a key for a different donation raises KeyReused.
    """
    low, high = donation_bounds()
    message = message.strip()[:500]
    club_id, donor_id = club.id, donor.id

    def resent() -> Donation | None:
        first = _given_under(donor_id, idempotency_key) if idempotency_key else None
        return None if first is None else _same_donation(first, club_id, amount_cents, message, anonymous)

    first = resent()
    if first is not None:
        return first
    if club.closed_at is not None:
        raise DonationError("This club is closed and no longer takes donations.")
    if not low <= amount_cents <= high:
        raise DonationError(f"Give between {low / 100:.2f} and {high / 100:.2f}.")
    donation = Donation(
        club_id=club_id,
        user_id=donor_id,
        amount_cents=amount_cents,
        message=message,
        anonymous=anonymous,
        gateway=get_gateway().name,
        idempotency_key=idempotency_key or None,
    )
    return insert_once(donation, resent)


def start_donation_checkout(donation: Donation, donor: User) -> str:
    """The gateway's payment page for a donation (same idempotency rules as orders)."""
    ready_to_pay(donation, "donation", DonationError)
    club = db.session.get(Club, donation.club_id)
    if club.closed_at is not None:  # a closed club's fund must stay empty (see close_club)
        raise DonationError("This club is closed and no longer takes donations.")
    if refusal_reason(club, donor) is not None:  # banned since the donation was made
        raise DonationError("You can no longer give to this club.")
    return open_session(
        donation,
        get_gateway(),
        checkout_request(
            donation,
            "donation",
            "donations.show",
            line_items=[LineItem(f"Donation to {club.name}", donation.amount_cents, 1)],
            customer_email=donor.email,
            club=club.slug,
        ),
    )


def donation_for_user(donation_id: int, user: User) -> tuple[Donation, Club] | None:
    row = db.session.execute(
        select(Donation, Club)
        .join(Club, Club.id == Donation.club_id)
        .where(Donation.id == donation_id, Donation.user_id == user.id)
    ).first()
    return (row[0], row[1]) if row else None


def donations_by_user(user: User) -> list[DonationRow]:
    """A reader's own donations with their clubs (one query)."""
    rows = db.session.execute(
        select(Donation, Club)
        .join(Club, Club.id == Donation.club_id)
        .where(Donation.user_id == user.id)
        .order_by(Donation.id.desc())
    ).all()
    return [DonationRow(donation=d, donor_name=user.name, club=c) for d, c in rows]


def donations_to_club(club: Club, limit: int | None = None) -> list[DonationRow]:
    """Received donations to a club, newest first, anonymous donors unnamed (one query)."""
    query = (
        select(Donation, User.name)
        .join(User, User.id == Donation.user_id)
        .where(Donation.club_id == club.id, Donation.status.in_((DonationStatus.PAID, DonationStatus.REFUNDED)))
        .order_by(Donation.paid_at.desc(), Donation.id.desc())
    )
    if limit:
        query = query.limit(limit)
    return [DonationRow(donation=d, donor_name=None if d.anonymous else name) for d, name in db.session.execute(query)]


__all__ = ["DonationError", "GatewayError", "KeyReused", "create_donation", "start_donation_checkout"]
