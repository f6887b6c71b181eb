"""Twenty fund purchases at the same moment that together ask for twice the balance (PostgreSQL)."""

from sqlalchemy import func, select

from app.clubs.services import create_club
from app.donations.fund import add_entry, fund_balance, lock_fund
from app.donations.shelf import add_to_wishlist
from app.extensions import db
from app.models import Book, FundEntry, Order, OrderStatus, ShelfBook
from tests.concurrency import all_at_once
from tests.conftest import database_is_postgres, need
from tests.donations import assert_running_balance, fund_lines, fund_purchase
from tests.factories import isbn_for, make_books
from tests.helpers import make_user
from tests.shop import ready_to_receive

PURCHASES = 20
PRICE_CENTS = 1000
FUND_CENTS = 10_000  # covers exactly half of the purchases


def test_twenty_concurrent_fund_debits_never_overdraw_the_fund(app, busy_app, inbox):
    need("PostgreSQL", database_is_postgres(app), "row locking under concurrency is shown on PostgreSQL")
    busy_app = busy_app(PURCHASES + 2)
    with busy_app.app_context():
        owner = make_user(email="owner@example.com", name="Olga Owner")
        club = create_club(owner, name="Night Owls", city="Lisbon", country="Portugal", visibility="public")
        ready_to_receive(club)  # fund purchases ship to the club's delivery address
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

    results, errors = all_at_once(busy_app, [fund_purchase(club_id, owner_id, item_id) for item_id in item_ids])

    assert errors == []
    bought = [r for r in results if isinstance(r, int)]
    refused = [r for r in results if isinstance(r, str)]
    assert len(bought) == PURCHASES // 2
    assert len(refused) == PURCHASES // 2
    assert all(message == "The club fund is 10.00 short for this." for message in refused), refused
    with busy_app.app_context():
        ledger = fund_lines(club_id)
        assert assert_running_balance(ledger) == 0
        assert len(ledger) == 1 + PURCHASES // 2
        assert fund_balance(club_id) == 0
        assert db.session.scalar(select(func.count(ShelfBook.id)).where(ShelfBook.club_id == club_id)) == 10
        statuses = db.session.scalars(select(Order.status)).all()
        assert statuses == [OrderStatus.PAID] * (PURCHASES // 2)  # refused purchases left no order behind
        stock = db.session.scalars(select(Book.stock).where(Book.id.in_(book_ids))).all()
        assert sorted(stock) == [2] * 10 + [3] * 10
