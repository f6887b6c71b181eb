"""Ten shoppers pay with a code that has three uses left, at the same moment (PostgreSQL)."""

from sqlalchemy import func, select

from app.extensions import db
from app.models import DiscountCode, DiscountRedemption, Order
from app.pricing.discounts import DiscountRefused, create_code, redeem_discount
from tests.concurrency import all_at_once
from tests.conftest import database_is_postgres, need
from tests.pricing import place_order

SHOPPERS = 10


def redeem(code_id, order_id, user_id, email):
    def task(start):
        start()
        try:
            redeem_discount(code_id, order_id, user_id, email)
            return "counted"
        except DiscountRefused as refused:
            return str(refused)

    return task


def counts(app, code_id) -> tuple[int, int]:
    with app.app_context():
        uses = db.session.scalar(select(DiscountCode.uses).where(DiscountCode.id == code_id))
        redemptions = db.session.scalar(
            select(func.count(DiscountRedemption.id)).where(DiscountRedemption.code_id == code_id)
        )
        return uses, redemptions


def test_ten_concurrent_redemptions_of_a_code_with_three_uses(app, busy_app):
    need("PostgreSQL", database_is_postgres(app), "row locking under concurrency is shown on PostgreSQL")
    busy_app = busy_app(SHOPPERS + 2)
    with busy_app.app_context():
        code_id = create_code("THREE", percent=10, max_uses=3).id
        orders = [place_order(f"shopper{i}@example.com") for i in range(SHOPPERS)]

    tasks = [redeem(code_id, o, u, f"shopper{i}@example.com") for i, (o, u) in enumerate(orders)]
    results, errors = all_at_once(busy_app, tasks)

    assert errors == []
    assert sorted(results) == ["This code has been used up"] * 7 + ["counted"] * 3
    assert counts(busy_app, code_id) == (3, 3)


def test_one_customer_racing_themself_and_retries_count_once(app, busy_app):
    need("PostgreSQL", database_is_postgres(app), "row locking under concurrency is shown on PostgreSQL")
    busy_app = busy_app(SHOPPERS + 2)
    with busy_app.app_context():
        code_id = create_code("ONCE", amount_cents=500, max_uses_per_customer=1).id
        first_order, user_id = place_order("ana@example.com")
        others = [Order(user_id=user_id, total_cents=2000, gateway="simulated") for _ in range(4)]
        db.session.add_all(others)
        db.session.commit()
        order_ids = [first_order] * 5 + [order.id for order in others]

    # Five retries of one order and four other orders of the same reader, all at once.
    tasks = [redeem(code_id, order_id, user_id, "ana@example.com") for order_id in order_ids]
    results, errors = all_at_once(busy_app, tasks)

    assert errors == []
    assert results.count("You have already used this code") >= 4
    assert counts(busy_app, code_id) == (1, 1)
