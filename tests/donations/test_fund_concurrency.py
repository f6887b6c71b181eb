"""Twenty fund purchases at the same moment that together ask for twice the balance (PostgreSQL)."""

import threading

from sqlalchemy import func, select

from app.clubs.services import create_club
from app.donations.fund import FundError, add_entry, fund_balance, lock_fund
from app.donations.shelf import add_to_wishlist, buy_from_fund
from app.extensions import db
from app.models import Book, Club, FundEntry, Order, OrderStatus, ShelfBook, User
from tests.conftest import database_is_postgres, need
from tests.factories import isbn_for, make_books
from tests.helpers import make_user

PURCHASES = 20
PRICE_CENTS = 1000
FUND_CENTS = 10_000  # covers exactly half of the purchases


def test_twenty_concurrent_fund_debits_never_overdraw_the_fund(app, busy_app, inbox):
    need("PostgreSQL", database_is_postgres(app), "row locking under concurrency is shown on PostgreSQL")
    busy_app = busy_app(PURCHASES + 2)
    with busy_app.app_context():
        owner = make_user(email="owner@example.com", name="Olga Owner")
        club = create_club(owner, name="Night Owls", city="Lisbon", country="Portugal", visibility="public")
        books = make_books(
            [
                {"title": f"Shelf Filler {i:02d}", "isbn": isbn_for(300000 + i), "price": "10.00", "stock": 3}
                for i in range(PURCHASES)
            ]
        )
        item_ids = [add_to_wishlist(club, book.id).id for book in books]
        lock_fund(club.id)
        add_entry(club.id, FundEntry.DONATION, FUND_CENTS, "Opening balance")
        db.session.commit()
        club_id, owner_id, book_ids = club.id, owner.id, [b.id for b in books]

    barrier = threading.Barrier(PURCHASES)
    bought, refused, errors = [], [], []

    def buy(item_id):
        try:
            with busy_app.app_context():
                club, owner = db.session.get(Club, club_id), db.session.get(User, owner_id)
                barrier.wait(timeout=30)
                try:
                    bought.append(buy_from_fund(club, owner, [item_id]).id)
                except FundError as exc:
                    refused.append(str(exc))
        except Exception as exc:  # surfaced below
            errors.append(repr(exc))

    threads = [threading.Thread(target=buy, args=(item_id,)) for item_id in item_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    assert len(bought) == PURCHASES // 2
    assert len(refused) == PURCHASES // 2
    assert all(message == "The club fund is 10.00 short for this." for message in refused), refused
    with busy_app.app_context():
        ledger = db.session.execute(
            select(FundEntry.amount_cents, FundEntry.balance_after_cents)
            .where(FundEntry.club_id == club_id)
            .order_by(FundEntry.id)
        ).all()
        running = 0
        for amount, balance_after in ledger:
            running += amount
            assert balance_after == running >= 0  # each line's balance is the sum so far, never below zero
        assert len(ledger) == 1 + PURCHASES // 2
        assert fund_balance(club_id) == 0 == sum(amount for amount, _ in ledger)
        assert db.session.scalar(select(func.count(ShelfBook.id)).where(ShelfBook.club_id == club_id)) == 10
        statuses = db.session.scalars(select(Order.status)).all()
        assert statuses == [OrderStatus.PAID] * (PURCHASES // 2)  # refused purchases left no order behind
        stock = db.session.scalars(select(Book.stock).where(Book.id.in_(book_ids))).all()
        assert sorted(stock) == [2] * 10 + [3] * 10
