"""What payment events do to a donation: credit the fund, thank the donor, tell the owner.

A payment that lands for a club that has closed, or from a donor who may no longer give to it
(banned since), never reaches the fund: it is refunded through the gateway and the donor is
told why.
"""

from __future__ import annotations

from sqlalchemy import select

from app.donations.fund import add_entry, lock_fund
from app.extensions import db
from app.jobs import enqueue
from app.models import Club, Donation, DonationStatus, FundEntry, User
from app.models.base import utcnow
from app.notifications.email import record_email
from app.observability.metrics import count_after_commit
from app.payments.target import AfterCommit, Target, register_target


def refusal_reason(club: Club, donor: User | None) -> str | None:
    """Why this club may not take this donor's money now (None when it may)."""
    from app.clubs.permissions import standing_in

    if club.closed_at is not None:
        return "the club has closed"
    if donor is None or donor.deleted_at is not None:
        return "the donor's account was closed"
    if not standing_in(club, donor).can("donate"):
        return "you may no longer give to this club"
    return None


def refund_donation(donation_id: int) -> str:
    """The refund job for a refused donation: pay back what is due (idempotent key per step)."""
    from app.payments.gateway import get_gateway

    donation = db.session.get(Donation, donation_id)
    if donation is None or donation.payment_intent_id is None or donation.status != DonationStatus.REFUND_DUE:
        return "nothing to refund"
    amount = donation.amount_cents - donation.refunded_cents
    if amount <= 0:
        return "nothing to refund"
    payment_intent_id, key = donation.payment_intent_id, f"refund-donation-{donation_id}-from-{donation.refunded_cents}"
    db.session.rollback()  # no transaction held open while we wait for the gateway
    return get_gateway().refund(payment_intent_id, amount, key)


@register_target
class DonationTarget(Target):
    kind = "donation"
    model = Donation

    def __init__(self, donation: Donation):
        self.donation = donation

    def _credited(self) -> bool:
        return (
            db.session.scalar(
                select(FundEntry.id).where(
                    FundEntry.kind == FundEntry.DONATION, FundEntry.donation_id == self.donation.id
                )
            )
            is not None
        )

    @property
    def summary(self) -> dict:
        club = db.session.get(Club, self.donation.club_id)
        return {
            "reference": f"donation:{self.donation.id}",
            "title": f"Donation to {club.name}",
            "amount_cents": self.donation.amount_cents,
            "currency": self.donation.currency,
            "user_id": self.donation.user_id,
            "endpoint": ("donations.show", {"donation_id": self.donation.id}),
        }

    @property
    def payable(self) -> Donation:
        return self.donation

    def _tell_donor(self, key: str, template: str, subject: str, **context) -> None:
        """Email the donor (unless their account is gone) about this donation, once under ``key``."""
        donor = db.session.get(User, self.donation.user_id)
        club = db.session.get(Club, self.donation.club_id)
        if donor is not None and donor.deleted_at is None:
            record_email(
                key=key,
                template=template,
                to=donor.email,
                subject=subject.format(club=club.name),
                user=donor,
                club=club,
                donation=self.donation,
                **context,
            )

    def paid(self, session: dict, after: AfterCommit) -> str:
        donation = self.donation
        if donation.paid_at is not None:
            return "already paid"
        donation.paid_at = utcnow()
        after.append(count_after_commit("donation", donation.amount_cents))
        donation.payment_intent_id = session.get("payment_intent")
        donation.checkout_session_id = session.get("id") or donation.checkout_session_id
        club = db.session.get(Club, donation.club_id)
        reason = refusal_reason(club, db.session.get(User, donation.user_id))
        if reason:
            return self._refuse(reason, after)
        donation.status = DonationStatus.PAID
        lock_fund(donation.club_id)
        add_entry(
            donation.club_id,
            FundEntry.DONATION,
            donation.amount_cents,
            f"Donation #{donation.id}",
            donation_id=donation.id,
        )
        self._tell_donor(f"donation-receipt:{donation.id}", "donation_receipt", "Thank you for your donation to {club}")
        club = db.session.get(Club, donation.club_id)
        donor = db.session.get(User, donation.user_id)
        from app.clubs.services import owner_of

        owner = owner_of(club)
        if owner is not None:
            record_email(
                key=f"donation-notice:{donation.id}",
                template="donation_notice",
                to=owner.email,
                subject=f"{club.name} received a donation",
                user=owner,
                club=club,
                donation=donation,
                donor_name=None if donation.anonymous else (donor.name if donor else None),
            )
        return "donation paid"

    def _refuse(self, reason: str, after: AfterCommit) -> str:
        """A payment the club may not take: nothing enters the fund; refund it and tell the donor why."""
        donation = self.donation
        donation.status = DonationStatus.REFUND_DUE
        self._tell_donor(
            f"donation-returned:{donation.id}",
            "donation_returned",
            "Your donation to {club} is being returned",
            reason=reason,
        )
        after.append(lambda: enqueue(refund_donation, donation.id))
        return f"donation paid; refused ({reason}), refund due"

    def failed(self, session: dict, after: AfterCommit) -> str:
        donation = self.donation
        if not self.is_open_for(session):
            return "unchanged"
        donation.status = DonationStatus.FAILED
        self._tell_donor(
            f"donation-failed:{donation.id}:{donation.checkout_attempt}",
            "donation_failed",
            "Your donation to {club} did not go through",
        )
        return DonationStatus.FAILED

    def refunded(self, amount_refunded: int, after: AfterCommit, refund_ref: str) -> str:
        """Reverse the newly refunded part of the credit, as one ledger line keyed by ``refund_ref``.

        The whole step is reversed even if the fund was already spent (the balance goes below
        zero: the club owes it). A refused donation never reached the fund: nothing to reverse.
        """
        donation = self.donation
        refunded = min(amount_refunded, donation.amount_cents)
        if refunded <= donation.refunded_cents:
            return "refund already recorded"
        step = refunded - donation.refunded_cents
        donation.refunded_cents = refunded
        if refunded == donation.amount_cents:
            donation.status = DonationStatus.REFUNDED
        lock_fund(donation.club_id)
        if self._credited():
            add_entry(
                donation.club_id,
                FundEntry.REVERSAL,
                -step,
                f"Refund of donation #{donation.id}",
                donation_id=donation.id,
                refund_ref=refund_ref,
                may_overdraw=True,
            )
        self._tell_donor(
            f"donation-refund:{donation.id}:{donation.refunded_cents}",
            "donation_refunded",
            "Your donation to {club} was refunded",
        )
        return "donation refunded"
