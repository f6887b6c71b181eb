"""The fund ledger's refund invariant, over random event sequences (Hypothesis).

For every donation and every purchase paid from a club fund, the ledger's reversals (or refunds to
the fund) add up to exactly what was refunded, whatever the number, order and duplication of the
refund events: Stripe's ``charge.refunded`` carries the cumulative ``amount_refunded``, events may
arrive before the payment, twice, or out of order, and the owner may spend the fund in between.

Runs on SQLite by default and on PostgreSQL when DATABASE_URL points there. Each example gets
its own club, so examples do not see each other's money.
"""

from __future__ import annotations

import os
import time
from itertools import accumulate

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from app.clubs.services import create_club
from app.donations.fund import FundError, add_entry, fund_balance, lock_fund
from app.extensions import db
from app.models import Donation, DonationStatus, FundEntry, Order, OrderStatus, PaymentEvent
from app.models.base import utcnow
from app.orders.fulfilment import _refund_to_fund, refund_order
from app.payments.fulfilment import handle_event
from tests.conftest import REQUIRE_SERVICES
from tests.helpers import make_user

CI_LIKE = REQUIRE_SERVICES or bool(os.environ.get("CI"))
PROPERTY_SETTINGS = settings(
    max_examples=20,
    deadline=None,
    derandomize=CI_LIKE,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@st.composite
def donation_story(draw):
    """A donation's events as the gateway might deliver them, and spending in between."""
    amount = draw(st.integers(min_value=100, max_value=5000))
    parts = draw(st.lists(st.integers(min_value=1, max_value=amount), max_size=4))
    cumulative = [min(total, amount) for total in accumulate(parts)]
    events = [("pay", None)] + [("refund", (i, total)) for i, total in enumerate(cumulative)]
    delivered = list(draw(st.permutations(events)))
    for duplicate in draw(st.lists(st.sampled_from(events), max_size=3)):
        delivered.insert(draw(st.integers(min_value=0, max_value=len(delivered))), duplicate)
    for spend in draw(st.lists(st.integers(min_value=1, max_value=amount), max_size=2)):
        delivered.insert(draw(st.integers(min_value=0, max_value=len(delivered))), ("spend", spend))
    return amount, delivered


@st.composite
def fund_purchase_story(draw):
    """Refunds of a purchase paid from the fund: parts, the rest, and retried jobs that read old state."""
    total = draw(st.integers(min_value=100, max_value=5000))
    ops = draw(
        st.lists(
            st.one_of(
                st.tuples(st.just("refund"), st.integers(min_value=1, max_value=total)),
                st.tuples(st.just("refund"), st.none()),
                st.tuples(st.just("retry"), st.integers(min_value=0, max_value=5)),
            ),
            max_size=6,
        )
    )
    return total, ops


def _people():
    return make_user(email="owner@example.com", name="Olga Owner"), make_user(email="donor@example.com")


def _new_club(owner, n):
    return create_club(
        owner, name=f"Ledger Club {n} {time.monotonic_ns()}", city="Lisbon", country="Portugal", visibility="public"
    )


def _session_event(donation: Donation, payment_intent: str) -> dict:
    return {
        "id": f"evt_paid_{donation.id}",
        "type": "checkout.session.completed",
        "data": {
            "object": {
                "object": "checkout.session",
                "id": donation.checkout_session_id,
                "client_reference_id": f"donation:{donation.id}",
                "payment_status": "paid",
                "payment_intent": payment_intent,
                "amount_total": donation.amount_cents,
                "currency": "usd",
            }
        },
    }


def _refund_event(donation_id: int, payment_intent: str, n: int, cumulative: int) -> dict:
    return {
        "id": f"evt_refund_{donation_id}_{n}",
        "type": "charge.refunded",
        "data": {"object": {"object": "charge", "payment_intent": payment_intent, "amount_refunded": cumulative}},
    }


def _ledger_sum(*where) -> int:
    return db.session.scalar(select(func.coalesce(func.sum(FundEntry.amount_cents), 0)).where(*where))


def _assert_running_balances(club_id: int) -> None:
    running = 0
    for amount, balance_after in db.session.execute(
        select(FundEntry.amount_cents, FundEntry.balance_after_cents)
        .where(FundEntry.club_id == club_id)
        .order_by(FundEntry.id)
    ):
        running += amount
        assert balance_after == running


def test_donation_reversals_add_up_to_what_was_refunded(app_ctx):
    owner, donor = _people()
    examples = iter(range(10**6))

    @PROPERTY_SETTINGS
    @given(story=donation_story())
    def check(story):
        amount, delivered = story
        club = _new_club(owner, next(examples))
        donation = Donation(
            club_id=club.id, user_id=donor.id, amount_cents=amount, gateway="stripe", checkout_session_id=None
        )
        db.session.add(donation)
        db.session.flush()
        donation.checkout_session_id = f"cs_prop_{donation.id}"
        db.session.commit()
        donation_id, club_id, payment_intent = donation.id, club.id, f"pi_prop_{donation.id}"
        spent = 0
        refunded_seen = 0  # the largest cumulative refund delivered so far
        for kind, detail in delivered:
            if kind == "pay":
                handle_event("stripe", _session_event(db.session.get(Donation, donation_id), payment_intent))
            elif kind == "refund":
                n, cumulative = detail
                handle_event("stripe", _refund_event(donation_id, payment_intent, n, cumulative))
                refunded_seen = max(refunded_seen, cumulative)
            else:  # the owner spends from the fund, if it covers it
                lock_fund(club_id)
                try:
                    add_entry(club_id, FundEntry.PURCHASE, -detail, "Books")
                except FundError:
                    db.session.rollback()
                else:
                    db.session.commit()
                    spent += detail

        db.session.expire_all()
        donation = db.session.get(Donation, donation_id)
        reversals = _ledger_sum(FundEntry.donation_id == donation_id, FundEntry.kind == FundEntry.REVERSAL)
        credits = _ledger_sum(FundEntry.donation_id == donation_id, FundEntry.kind == FundEntry.DONATION)
        assert credits == amount
        assert donation.refunded_cents == refunded_seen
        assert -reversals == refunded_seen  # the invariant: reversals are exactly what was refunded
        assert donation.status == (DonationStatus.REFUNDED if refunded_seen == amount else DonationStatus.PAID)
        assert fund_balance(club_id) == amount - refunded_seen - spent
        _assert_running_balances(club_id)
        parked = db.session.scalar(
            select(func.count(PaymentEvent.id)).where(
                PaymentEvent.payment_intent_id == payment_intent, PaymentEvent.applied.is_(False)
            )
        )
        assert parked == 0  # every refund that waited for the payment was applied

    check()


def test_fund_purchase_refunds_add_up_to_what_was_refunded(app_ctx):
    owner, _ = _people()
    examples = iter(range(10**6))

    @PROPERTY_SETTINGS
    @given(story=fund_purchase_story())
    def check(story):
        total, ops = story
        club = _new_club(owner, next(examples))
        lock_fund(club.id)
        add_entry(club.id, FundEntry.DONATION, 10_000, "Opening balance")
        order = Order(
            user_id=owner.id,
            club_id=club.id,
            gateway="fund",
            status=OrderStatus.PAID,
            total_cents=total,
            paid_at=utcnow(),
            closed_at=utcnow(),
        )
        db.session.add(order)
        db.session.flush()
        add_entry(club.id, FundEntry.PURCHASE, -total, "Books", order_id=order.id)
        db.session.commit()
        order_id, club_id = order.id, club.id
        expected = 0
        steps: list[tuple[int, int, str]] = []  # (refunded before, amount, key) of each step made
        for kind, detail in ops:
            if kind == "refund":
                before = db.session.get(Order, order_id).refunded_cents
                key = refund_order(order_id, detail)
                step = min(total - expected, total - expected if detail is None else detail)
                if step > 0:
                    steps.append((before, step, key))
                    expected += step
            elif steps:  # a retried job that read the order before its first run committed
                before, step, key = steps[detail % len(steps)]
                _refund_to_fund(order_id, before, step, key)
            db.session.expire_all()

        order = db.session.get(Order, order_id)
        refunds = _ledger_sum(FundEntry.order_id == order_id, FundEntry.kind == FundEntry.PURCHASE_REFUND)
        assert order.refunded_cents == expected == refunds
        assert order.status == (OrderStatus.REFUNDED if expected == total else OrderStatus.PAID)
        assert fund_balance(club_id) == 10_000 - total + expected
        _assert_running_balances(club_id)

    check()
