"""Refunds racing purchases from the club fund (PostgreSQL, real threads).

A refund's reversal takes the same fund lock as a purchase: each ledger line's ``balance_after`` is
the sum of the lines before it, and no purchase is let through on a balance a refund has already
taken away.
"""

from sqlalchemy import select

from app.donations.fund import fund_balance
from app.donations.shelf import add_to_wishlist
from app.extensions import db
from app.models import Donation, FundEntry, Order, OrderStatus, User
from app.payments.fulfilment import handle_event
from tests.concurrency import all_at_once
from tests.conftest import database_is_postgres, need
from tests.donations import assert_running_balance, fund_lines, fund_purchase
from tests.factories import isbn_for, make_books
from tests.helpers import make_user
from tests.payments.money import amount_of, open_club, pay, payment_intent_of, pending_donation, refund_event

ROUNDS = 3
EACH = 6  # donations refunded and purchases made at the same moment, per round
PRICE_CENTS = 1000


def _prepare(app, round_no: int):
    """A club whose fund holds EACH paid donations of PRICE_CENTS, and EACH wished books at that price."""
    with app.app_context():
        owner_email = f"owner{round_no}@example.com"
        club = open_club(owner_email=owner_email, name=f"Race Club {round_no}")
        donor = make_user(email=f"donor{round_no}@example.com", name="Dora Donor")
        donations = []
        for _ in range(EACH):
            donation = pending_donation(club, donor, PRICE_CENTS)
            assert pay(donation) == "donation paid"
            donations.append(donation)
        refunds = [refund_event(payment_intent_of(d), [PRICE_CENTS], amount_of(d)) for d in donations]
        books = make_books(
            [
                {"title": f"Race Book {round_no}-{i}", "isbn": isbn_for(410000 + 100 * round_no + i), "price": "10.00"}
                for i in range(EACH)
            ]
        )
        item_ids = [add_to_wishlist(club, book.id).id for book in books]
        db.session.commit()
        owner_id = db.session.scalar(select(User.id).where(User.email == owner_email))
        return club.id, owner_id, refunds, item_ids


def _race(app, club_id, owner_id, refunds, item_ids):
    def refund(event):
        def task(start):
            start()
            assert handle_event("simulated", event) == "donation refunded"

        return task

    _, errors = all_at_once(app, [refund(e) for e in refunds] + [fund_purchase(club_id, owner_id, i) for i in item_ids])
    assert errors == []


def test_refunds_racing_fund_purchases_keep_every_ledger_line_consistent(app, busy_app, inbox):
    need("PostgreSQL", database_is_postgres(app), "row locking under concurrency is shown on PostgreSQL")
    busy_app = busy_app(2 * EACH + 2)
    for round_no in range(ROUNDS):
        club_id, owner_id, refunds, item_ids = _prepare(busy_app, round_no)
        _race(busy_app, club_id, owner_id, refunds, item_ids)
        with busy_app.app_context():
            lines = fund_lines(club_id)
            running = assert_running_balance(lines)
            kinds = [kind for kind, _, _ in lines]
            assert kinds.count(FundEntry.REVERSAL) == EACH  # every refund recorded in full
            assert fund_balance(club_id) == running
            paid_orders = db.session.scalars(
                select(Order.id).where(Order.club_id == club_id, Order.status == OrderStatus.PAID)
            ).all()
            assert len(paid_orders) == kinds.count(FundEntry.PURCHASE)
            refunded = db.session.scalars(select(Donation.refunded_cents).where(Donation.club_id == club_id)).all()
            assert refunded == [PRICE_CENTS] * EACH
