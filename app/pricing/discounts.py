"""Discount codes: a percentage or a fixed amount off the books, with an optional minimum spend, start,
expiry, overall limit and limit per customer.

``check_discount`` is what the review step calls (no change made); ``redeem_discount`` counts one use
when the order is paid, exactly once per order even when payments race or retry: the code's row is
updated conditionally (``uses < max_uses``), which also locks it until commit, and the redemption's
order id is unique.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.formatting import money
from app.models import DiscountCode, DiscountKind, DiscountRedemption
from app.pricing import PricingError
from app.pricing.money import percent_of


class DiscountRefused(PricingError):
    """The code cannot be used; the message says why, for the shopper."""


class DiscountSetupError(PricingError):
    pass


@dataclass(frozen=True)
class Discount:
    code_id: int
    code: str
    cents: int
    description: str


def normalise(code: str) -> str:
    return (code or "").strip().upper()


def _day(moment: datetime) -> str:
    return f"{moment.day} {moment:%b %Y}"


def describe(code: DiscountCode) -> str:
    """ "10% off" or "$5.00 off"."""
    return f"{code.value}% off" if code.kind == DiscountKind.PERCENT else f"{money(code.value)} off"


def discount_cents(code: DiscountCode, subtotal_cents: int) -> int:
    """What ``code`` takes off ``subtotal_cents``: percentages round half-up; never more than the subtotal."""
    cents = percent_of(subtotal_cents, code.value * 100) if code.kind == DiscountKind.PERCENT else code.value
    return max(0, min(cents, subtotal_cents))


def _customer(email: str | None, user_id: int | None):
    clauses = []
    if email:
        clauses.append(DiscountRedemption.email == email.strip().lower())
    if user_id is not None:
        clauses.append(DiscountRedemption.user_id == user_id)
    return or_(*clauses) if clauses else None


def _uses_by(code_id: int, email: str | None, user_id: int | None) -> int:
    who = _customer(email, user_id)
    if who is None:
        return 0
    return db.session.scalar(
        select(func.count(DiscountRedemption.id)).where(DiscountRedemption.code_id == code_id, who)
    )


def check_discount(
    code: str, subtotal_cents: int, customer_email: str | None, user_id: int | None = None, now: datetime | None = None
) -> Discount:
    """The discount ``code`` gives on ``subtotal_cents`` for this customer, or ``DiscountRefused``.

    At most two queries (the code; the customer's past uses when the code limits them).
    """
    now = now or datetime.now(UTC)
    row = db.session.scalar(select(DiscountCode).where(DiscountCode.code == normalise(code)))
    if row is None or not normalise(code):
        raise DiscountRefused(f"We don't know the code {normalise(code)}" if normalise(code) else "Enter a code")
    if not row.active:
        raise DiscountRefused("This code is no longer valid")
    if row.starts_at is not None and now < row.starts_at:
        raise DiscountRefused(f"This code can be used from {_day(row.starts_at)}")
    if row.expires_at is not None and now > row.expires_at:
        raise DiscountRefused(f"This code expired on {_day(row.expires_at)}")
    if row.max_uses is not None and row.uses >= row.max_uses:
        raise DiscountRefused("This code has been used up")
    if subtotal_cents < row.min_subtotal_cents:
        raise DiscountRefused(f"Spend {money(row.min_subtotal_cents)} or more to use this code")
    if row.max_uses_per_customer is not None and _uses_by(row.id, customer_email, user_id) >= (
        row.max_uses_per_customer
    ):
        raise DiscountRefused("You have already used this code")
    return Discount(row.id, row.code, discount_cents(row, subtotal_cents), describe(row))


def _same_code(redemption: DiscountRedemption, code_id: int) -> DiscountRedemption:
    """An order takes one code: the same code again is a retry, another code is refused."""
    if redemption.code_id != code_id:
        raise DiscountRefused("This order already has a discount code")
    return redemption


def redeem_discount(
    code_id: int, order_id: int, user_id: int | None, email: str, *, commit: bool = True
) -> DiscountRedemption:
    """Count one use of the code for ``order_id``; a second call for the same order returns the first
    redemption and counts nothing (an order takes one code). Raises ``DiscountRefused`` when the last
    use (overall, or this customer's) was taken meanwhile.

    With ``commit=False`` the caller commits (the code's row stays locked until then), so the use can
    be counted in the same transaction that marks the order paid.
    """
    existing = db.session.scalar(select(DiscountRedemption).where(DiscountRedemption.order_id == order_id))
    if existing is not None:
        return _same_code(existing, code_id)
    email = (email or "").strip().lower()
    savepoint = db.session.begin_nested()
    try:
        # The conditional update takes the row lock (PostgreSQL) or the write lock (SQLite) first:
        # every check below runs with other redemptions of this code waiting their turn.
        counted = db.session.execute(
            update(DiscountCode)
            .where(
                DiscountCode.id == code_id,
                or_(DiscountCode.max_uses.is_(None), DiscountCode.uses < DiscountCode.max_uses),
            )
            .values(uses=DiscountCode.uses + 1)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not counted:
            raise DiscountRefused("This code has been used up")
        existing = db.session.scalar(select(DiscountRedemption).where(DiscountRedemption.order_id == order_id))
        if existing is not None:
            savepoint.rollback()
            return _same_code(existing, code_id)
        limit = db.session.scalar(select(DiscountCode.max_uses_per_customer).where(DiscountCode.id == code_id))
        if limit is not None and _uses_by(code_id, email, user_id) >= limit:
            raise DiscountRefused("You have already used this code")
        redemption = DiscountRedemption(code_id=code_id, order_id=order_id, user_id=user_id, email=email)
        db.session.add(redemption)
        db.session.flush()
        savepoint.commit()
    except DiscountRefused:
        savepoint.rollback()
        if commit:
            db.session.rollback()
        raise
    except IntegrityError:
        # The same order redeemed at the same moment elsewhere: theirs counts, ours is undone.
        savepoint.rollback()
        if commit:
            db.session.rollback()
        existing = db.session.scalar(select(DiscountRedemption).where(DiscountRedemption.order_id == order_id))
        return _same_code(existing, code_id)
    if commit:
        db.session.commit()
    return redemption


def release_discount(order_id: int) -> bool:
    """Give back the use an unpaid order reserved (its payment failed or expired); True if one was.

    Idempotent: a second call finds no redemption and changes nothing. The caller commits.
    """
    redemption = db.session.scalar(
        select(DiscountRedemption).where(DiscountRedemption.order_id == order_id).with_for_update()
    )
    if redemption is None:
        return False
    db.session.execute(
        update(DiscountCode)
        .where(DiscountCode.id == redemption.code_id, DiscountCode.uses > 0)
        .values(uses=DiscountCode.uses - 1)
        .execution_options(synchronize_session=False)
    )
    db.session.delete(redemption)
    db.session.flush()
    return True


# ---- Admin (the CLI) ------------------------------------------------------------------------------


def end_of_day(day: date) -> datetime:
    """A code that "expires 2026-12-31" works all that day (UTC)."""
    return datetime.combine(day, time.max, tzinfo=UTC)


def create_code(
    code: str,
    *,
    percent: int | None = None,
    amount_cents: int | None = None,
    min_subtotal_cents: int = 0,
    starts_on: date | None = None,
    expires_on: date | None = None,
    max_uses: int | None = None,
    max_uses_per_customer: int | None = None,
) -> DiscountCode:
    """A new active code: exactly one of ``percent`` (1-100) or ``amount_cents`` (> 0)."""
    name = normalise(code)
    if not name or len(name) > 40 or not all(ch.isalnum() or ch in "-_" for ch in name):
        raise DiscountSetupError("a code is 1-40 letters, digits, - or _ (such as WELCOME10)")
    if (percent is None) == (amount_cents is None):
        raise DiscountSetupError("give exactly one of --percent or --amount")
    if percent is not None and not 1 <= percent <= 100:
        raise DiscountSetupError("--percent must be a whole number from 1 to 100")
    if amount_cents is not None and amount_cents <= 0:
        raise DiscountSetupError("--amount must be more than 0.00")
    for label, limit in (("--max-uses", max_uses), ("--per-customer", max_uses_per_customer)):
        if limit is not None and limit < 1:
            raise DiscountSetupError(f"{label} must be at least 1")
    if starts_on and expires_on and expires_on < starts_on:
        raise DiscountSetupError("the code would expire before it starts")
    if db.session.scalar(select(DiscountCode.id).where(DiscountCode.code == name)) is not None:
        raise DiscountSetupError(f"the code {name} already exists")
    row = DiscountCode(
        code=name,
        kind=DiscountKind.PERCENT if percent is not None else DiscountKind.FIXED,
        value=percent if percent is not None else amount_cents,
        min_subtotal_cents=min_subtotal_cents,
        starts_at=datetime.combine(starts_on, time.min, tzinfo=UTC) if starts_on else None,
        expires_at=end_of_day(expires_on) if expires_on else None,
        max_uses=max_uses,
        max_uses_per_customer=max_uses_per_customer,
        uses=0,
        active=True,
    )
    db.session.add(row)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise DiscountSetupError(f"the code {name} already exists") from None
    return row


def disable_code(code: str) -> DiscountCode:
    row = db.session.scalar(select(DiscountCode).where(DiscountCode.code == normalise(code)))
    if row is None:
        raise DiscountSetupError(f"no discount code {normalise(code)}")
    row.active = False
    db.session.commit()
    return row
