"""Twenty buyers pay for the last copy at the same moment (PostgreSQL)."""

import threading

from sqlalchemy import select

from app.extensions import db
from app.models import Book, Order, OrderLine, OrderStatus
from app.payments.fulfilment import handle_event
from app.payments.simulated import simulated_event
from tests.conftest import database_is_postgres, need
from tests.factories import make_book
from tests.helpers import make_user

BUYERS = 20


def test_twenty_concurrent_payments_for_the_last_copy(app, busy_app, inbox):
    need("PostgreSQL", database_is_postgres(app), "row locking under concurrency is shown on PostgreSQL")
    busy_app = busy_app(BUYERS + 2)
    with busy_app.app_context():
        book = make_book(title="The Last Copy", price="20.00", stock=1)
        orders = []
        for i in range(BUYERS):
            user = make_user(email=f"buyer{i}@example.com", name=f"Buyer {i}")
            order = Order(
                user_id=user.id,
                total_cents=2000,
                gateway="simulated",
                checkout_session_id=f"cs_sim_race_{i:02d}",
                status=OrderStatus.PENDING,
            )
            order.lines = [
                OrderLine(book_id=book.id, title=book.title, isbn13=book.isbn13, unit_price_cents=2000, quantity=1)
            ]
            db.session.add(order)
            db.session.commit()
            orders.append((order.id, order.checkout_session_id))
        book_id = book.id

    barrier = threading.Barrier(BUYERS)
    results, errors = {}, []

    def pay(order_id, session_id):
        try:
            with busy_app.app_context():
                event = simulated_event("checkout.session.completed", session_id, f"order:{order_id}", 2000, True)
                barrier.wait(timeout=30)
                results[order_id] = handle_event("simulated", event)
        except Exception as exc:  # surfaced below
            errors.append(repr(exc))

    threads = [threading.Thread(target=pay, args=pair) for pair in orders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    assert sorted(results.values()).count("paid") == 1
    with busy_app.app_context():
        statuses = db.session.scalars(select(Order.status).order_by(Order.id)).all()
        assert statuses.count(OrderStatus.PAID) == 1
        # Every other buyer was marked for refund (the inline refund job already refunded them).
        others = [s for s in statuses if s != OrderStatus.PAID]
        assert len(others) == BUYERS - 1
        assert set(others) <= {OrderStatus.REFUNDED, OrderStatus.REFUND_DUE}
        assert db.session.get(Book, book_id).stock == 0
    receipts = [m for m in inbox.messages if "receipt" in m["Subject"]]
    assert len(receipts) == 1
