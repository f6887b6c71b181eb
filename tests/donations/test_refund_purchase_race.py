"""Refunds and payments racing purchases from the club fund (PostgreSQL, real threads).

A refund's ledger line takes the same fund lock as a purchase: each line's ``balance_after`` is the
sum of the lines before it, and no purchase is let through on a balance that is not there. Two kinds
of refund touch the fund: a donation refunded on the gateway (its credit reversed) and a purchase made
from the fund refunded by the refund job (its price back into the fund).
"""

import zlib

import pytest
from sqlalchemy import select

from app.donations.fund import fund_balance
from app.donations.shelf import add_to_wishlist, buy_from_fund
from app.extensions import db
from app.models import Club, Donation, FundEntry, Order, OrderStatus, User
from app.orders.fulfilment import refund_order
from app.payments.fulfilment import handle_event
from tests.concurrency import all_at_once
from tests.conftest import database_is_postgres, need
from tests.donations import assert_running_balance, fund_lines, fund_purchase
from tests.factories import isbn_for, make_books
from tests.helpers import make_user
from tests.payments.money import (
    amount_of,
    open_club,
    pay,
    payment_intent_of,
    pending_donation,
    refund_event,
    session_event,
)

ROUNDS = 3
EACH = 6  # refunds and purchases made at the same moment, per round
PRICE_CENTS = 1000


def _club_with_a_funded_wishlist(name: str, books: int):
    """A club whose fund holds EACH paid donations of PRICE_CENTS, ``books`` wished books at that price."""
    owner_email = f"owner-{name}@example.com"
    club = open_club(owner_email=owner_email, name=f"Race Club {name}")
    donor = make_user(email=f"donor-{name}@example.com", name="Dora Donor")
    donations = [pending_donation(club, donor, PRICE_CENTS) for _ in range(EACH)]
    assert [pay(d) for d in donations] == ["donation paid"] * EACH
    first_isbn = zlib.crc32(name.encode()) % 10_000 * 100
    made = make_books(
        [{"title": f"Race Book {name}-{i}", "isbn": isbn_for(first_isbn + i), "price": "10.00"} for i in range(books)]
    )
    item_ids = [add_to_wishlist(club, book.id).id for book in made]
    db.session.commit()
    owner_id = db.session.scalar(select(User.id).where(User.email == owner_email))
    return club.id, owner_id, donations, item_ids


def _donation_refunds(name: str):
    """Each donation refunded in full on the gateway while the owner buys as many books."""
    club_id, owner_id, donations, item_ids = _club_with_a_funded_wishlist(name, EACH)
    events = [refund_event(payment_intent_of(d), [PRICE_CENTS], amount_of(d)) for d in donations]

    def refund(event):
        def task(start):
            start()
            assert handle_event("simulated", event) == "donation refunded"

        return task

    return club_id, [refund(e) for e in events] + [fund_purchase(club_id, owner_id, i) for i in item_ids]


def _purchase_refunds(name: str):
    """EACH books already bought with the whole fund are refunded by the job while the owner buys EACH more."""
    club_id, owner_id, _, item_ids = _club_with_a_funded_wishlist(name, 2 * EACH)
    club, owner = db.session.get(Club, club_id), db.session.get(User, owner_id)
    bought = [buy_from_fund(club, owner, [item_id]).id for item_id in item_ids[:EACH]]
    assert fund_balance(club_id) == 0

    def refund(order_id):
        def task(start):
            start()
            refund_order(order_id)

        return task

    return club_id, [refund(o) for o in bought] + [fund_purchase(club_id, owner_id, i) for i in item_ids[EACH:]]


def _donations_landing(name: str):
    """EACH donations are paid on the gateway while the owner buys EACH books from a fund that held EACH."""
    club_id, owner_id, _, item_ids = _club_with_a_funded_wishlist(name, EACH)
    club = db.session.get(Club, club_id)
    donor = make_user(email=f"late-{name}@example.com", name="Lara Late")
    events = [session_event(pending_donation(club, donor, PRICE_CENTS)) for _ in range(EACH)]

    def land(event):
        def task(start):
            start()
            assert handle_event("simulated", event) == "donation paid"

        return task

    return club_id, [land(e) for e in events] + [fund_purchase(club_id, owner_id, i) for i in item_ids]


def _assert_consistent(club_id: int, line_kind: str) -> None:
    lines = fund_lines(club_id)
    running = assert_running_balance(lines)  # no line written from a stale balance, no purchase overdrawn
    kinds = [kind for kind, _, _ in lines]
    assert kinds.count(line_kind) == (2 * EACH if line_kind == FundEntry.DONATION else EACH)  # all recorded
    assert fund_balance(club_id) == running
    paid = db.session.scalars(select(Order.id).where(Order.club_id == club_id, Order.status == OrderStatus.PAID))
    refunded = db.session.scalars(
        select(Order.id).where(Order.club_id == club_id, Order.status == OrderStatus.REFUNDED)
    )
    assert len(paid.all()) + len(refunded.all()) == kinds.count(FundEntry.PURCHASE)
    if line_kind == FundEntry.REVERSAL:
        donations = db.session.scalars(select(Donation.refunded_cents).where(Donation.club_id == club_id))
        assert donations.all() == [PRICE_CENTS] * EACH


@pytest.mark.parametrize(
    ("race", "line_kind"),
    [
        (_donation_refunds, FundEntry.REVERSAL),
        (_purchase_refunds, FundEntry.PURCHASE_REFUND),
        (_donations_landing, FundEntry.DONATION),
    ],
    ids=["donation refunds", "fund purchase refunds", "donations landing"],
)
def test_refunds_racing_fund_purchases_keep_every_ledger_line_consistent(app, busy_app, inbox, race, line_kind):
    need("PostgreSQL", database_is_postgres(app), "row locking under concurrency is shown on PostgreSQL")
    busy_app = busy_app(2 * EACH + 2)
    for round_no in range(ROUNDS):
        with busy_app.app_context():
            club_id, tasks = race(f"{line_kind}-{round_no}")
        _, errors = all_at_once(busy_app, tasks)
        assert errors == []
        with busy_app.app_context():
            _assert_consistent(club_id, line_kind)
