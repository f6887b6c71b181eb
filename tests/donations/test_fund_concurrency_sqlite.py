"""The fund's locking rule on SQLite: writers are serialised, so two owners' tabs spending the same
fund at the same moment can never take it below zero.

The PostgreSQL test next door (test_fund_concurrency.py) shows the row lock with twenty buyers;
this one runs in every default ``make test``, on a file database of its own (whatever DATABASE_URL
says), with real threads.
"""

import time

from sqlalchemy import select

from app import create_app
from app.clubs.services import create_club
from app.donations.fund import FundError, add_entry, fund_balance, lock_fund
from app.donations.shelf import add_to_wishlist
from app.extensions import db
from app.models import Book, FundEntry, Order, OrderStatus
from tests.concurrency import all_at_once
from tests.conftest import make_config, reset_schema
from tests.donations import assert_running_balance, fund_lines, fund_purchase
from tests.factories import isbn_for, make_books
from tests.helpers import make_user
from tests.shop import ready_to_receive

ROUNDS = 5
PRICE_CENTS = 1000


def test_two_threads_spending_the_same_fund_on_sqlite_never_overdraw_it(base_settings, tmp_path, inbox):
    sqlite_app = create_app(
        make_config(**{**base_settings, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/fund.db"})
    )
    with sqlite_app.app_context():
        reset_schema()
        owner = make_user(email="owner@example.com", name="Olga Owner")
        club = create_club(owner, name="Night Owls", city="Lisbon", country="Portugal", visibility="public")
        ready_to_receive(club)
        books = make_books(
            [
                {"title": f"Wanted {i:02d}", "isbn": isbn_for(740000 + i), "price": "10.00", "stock": 1}
                for i in range(2 * ROUNDS)
            ]
        )
        item_ids = [add_to_wishlist(club, book.id).id for book in books]
        club_id, owner_id = club.id, owner.id

    results, errors = [], []
    for round_ in range(ROUNDS):
        with sqlite_app.app_context():
            lock_fund(club_id)
            add_entry(club_id, FundEntry.DONATION, PRICE_CENTS, f"Enough for one book (round {round_})")
            db.session.commit()
        pair = item_ids[2 * round_ : 2 * round_ + 2]
        round_results, round_errors = all_at_once(
            sqlite_app, [fund_purchase(club_id, owner_id, item_id) for item_id in pair], timeout=60
        )
        results += round_results
        errors += round_errors

    assert errors == []
    bought = [r for r in results if isinstance(r, int)]
    refused = [r for r in results if isinstance(r, str)]
    assert len(bought) == ROUNDS and len(refused) == ROUNDS
    assert set(refused) == {"The club fund is 10.00 short for this."}
    with sqlite_app.app_context():
        assert assert_running_balance(fund_lines(club_id)) == 0
        assert fund_balance(club_id) == 0
        assert db.session.scalars(select(Order.status)).all() == [OrderStatus.PAID] * ROUNDS
        assert sorted(db.session.scalars(select(Book.stock))) == [0] * ROUNDS + [1] * ROUNDS
        db.session.remove()
        db.engine.dispose()


def test_a_debit_waits_for_the_one_before_even_when_its_balance_read_is_slow(base_settings, tmp_path, monkeypatch):
    """The rule itself: lock first, then read the balance. A slow read (a busy disk) widens the window
    in which, without the lock, both debits would see the same balance and both pass."""
    from app.donations import fund

    sqlite_app = create_app(
        make_config(**{**base_settings, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/slow.db"})
    )
    with sqlite_app.app_context():
        reset_schema()
        owner = make_user(email="owner@example.com", name="Olga Owner")
        club_id = create_club(owner, name="Night Owls", city="Lisbon", country="Portugal", visibility="public").id
        lock_fund(club_id)
        add_entry(club_id, FundEntry.DONATION, PRICE_CENTS, "Enough for one debit")
        db.session.commit()

    read_balance = fund.fund_balance

    def slow_balance(club_id):
        found = read_balance(club_id)
        time.sleep(0.3)
        return found

    monkeypatch.setattr(fund, "fund_balance", slow_balance)

    def debit(name):
        def task(start):
            start()
            try:
                lock_fund(club_id)
                add_entry(club_id, FundEntry.PURCHASE, -PRICE_CENTS, f"Books bought by {name}")
                db.session.commit()
                return ("done", name)
            except FundError as exc:
                db.session.rollback()
                return ("refused", str(exc))

        return task

    results, errors = all_at_once(sqlite_app, [debit(name) for name in ("first tab", "second tab")], timeout=60)
    done = [what for outcome, what in results if outcome == "done"]
    refused = [what for outcome, what in results if outcome == "refused"]
    assert errors == []
    assert (len(done), refused) == (1, ["The club fund is 10.00 short for this."])
    with sqlite_app.app_context():
        assert read_balance(club_id) == 0
        db.session.remove()
        db.engine.dispose()
