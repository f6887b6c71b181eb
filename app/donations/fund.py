"""The club fund: a ledger of credits and debits whose sum is the balance.

Every change first bumps ``clubs.fund_version`` with an UPDATE: that write takes the club's row
lock (PostgreSQL) or the database write lock (SQLite), so concurrent debits run one after the
other and each sees the balance the previous one left. A debit the club chooses (a purchase)
that the balance cannot cover is refused. A refund is not a choice but a fact the gateway
reports: its reversal is recorded in full even when the money was already spent, and the
balance then goes below zero (the fund owes it; later donations make it up first).
"""

from __future__ import annotations

from sqlalchemy import func, select, update

from app.csv_export import csv_text, money
from app.extensions import db
from app.models import Club, Donation, FundEntry, User


class FundError(ValueError):
    """The fund cannot cover this; the message says by how much."""


def lock_fund(club_id: int) -> None:
    """Serialise fund changes for one club until the transaction ends."""
    db.session.execute(
        update(Club)
        .where(Club.id == club_id)
        .values(fund_version=Club.fund_version + 1)
        .execution_options(synchronize_session=False)
    )


def fund_balance(club_id: int) -> int:
    return db.session.scalar(
        select(func.coalesce(func.sum(FundEntry.amount_cents), 0)).where(FundEntry.club_id == club_id)
    )


def add_entry(
    club_id: int,
    kind: str,
    amount_cents: int,
    description: str,
    *,
    refund_ref: str = "",
    may_overdraw: bool = False,
    **refs,
) -> FundEntry | None:
    """Add one ledger line after ``lock_fund`` (caller's transaction; no commit).

    Returns None if the same entry (kind, donation or order, and refund step ``refund_ref``)
    exists already. Raises FundError if the balance would go below zero, unless
    ``may_overdraw`` (a refund already made by the gateway must be recorded whatever is left).
    """
    ref_column = FundEntry.donation_id if "donation_id" in refs else FundEntry.order_id
    ref_value = refs.get("donation_id", refs.get("order_id"))
    if ref_value is not None and db.session.scalar(
        select(FundEntry.id).where(FundEntry.kind == kind, ref_column == ref_value, FundEntry.refund_ref == refund_ref)
    ):
        return None
    balance = fund_balance(club_id) + amount_cents
    if balance < 0 and not may_overdraw:
        short = -balance
        raise FundError(f"The club fund is {short / 100:.2f} short for this.")
    entry = FundEntry(
        club_id=club_id,
        kind=kind,
        amount_cents=amount_cents,
        balance_after_cents=balance,
        description=description[:300],
        refund_ref=refund_ref[:255],
        **refs,
    )
    db.session.add(entry)
    db.session.flush()
    return entry


def donated_total(club_id: int) -> int:
    """Money given to the club, net of refunds (what the goal's progress bar shows)."""
    return db.session.scalar(
        select(func.coalesce(func.sum(FundEntry.amount_cents), 0)).where(
            FundEntry.club_id == club_id, FundEntry.kind.in_((FundEntry.DONATION, FundEntry.REVERSAL))
        )
    )


def ledger(club_id: int) -> list[tuple[FundEntry, str | None]]:
    """Every ledger line, newest first, with the donor's name (None when anonymous). One query."""
    rows = db.session.execute(
        select(FundEntry, Donation.anonymous, User.name)
        .outerjoin(Donation, Donation.id == FundEntry.donation_id)
        .outerjoin(User, User.id == Donation.user_id)
        .where(FundEntry.club_id == club_id)
        .order_by(FundEntry.id.desc())
    ).all()
    return [(entry, None if anonymous else name) for entry, anonymous, name in rows]


def ledger_csv(club_id: int) -> str:
    """The ledger, oldest first, as CSV for the owner's spreadsheet (amounts as numbers, text neutralised)."""
    header = ["date", "kind", "amount", "balance_after", "donor", "donation_id", "order_id", "description"]
    return csv_text(
        header,
        (
            [
                entry.created_at,
                entry.kind,
                money(entry.amount_cents),
                money(entry.balance_after_cents),
                donor or ("Anonymous" if entry.donation_id else ""),
                entry.donation_id,
                entry.order_id,
                entry.description,
            ]
            for entry, donor in reversed(ledger(club_id))
        ),
    )
