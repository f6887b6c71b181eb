"""Discount codes: what each refusal says, the amounts, and a use counted once per order."""

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import DiscountCode, DiscountRedemption
from app.pricing.discounts import DiscountRefused, DiscountSetupError, check_discount, redeem_discount
from tests.pricing import discounts, place_order

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def refusal(code, subtotal=5000, email="ana@example.com", user_id=None, now=NOW) -> str:
    with pytest.raises(DiscountRefused) as caught:
        check_discount(code, subtotal, email, user_id, now=now)
    return str(caught.value)


def uses(code: str) -> int:
    db.session.expire_all()
    return db.session.scalar(select(DiscountCode.uses).where(DiscountCode.code == code))


def test_percent_and_fixed_amounts(app_ctx):
    discounts.create_code("welcome10", percent=10)
    discounts.create_code("FIVE", amount_cents=500)
    found = check_discount("Welcome10", 2995, "ana@example.com", now=NOW)
    # 10% of $29.95 = 299.5 cents, rounded half-up.
    assert (found.code, found.cents, found.description) == ("WELCOME10", 300, "10% off")
    assert check_discount(" five ", 2995, None, now=NOW).cents == 500


def test_the_discount_never_exceeds_the_books(app_ctx):
    discounts.create_code("BIG", amount_cents=5000)
    discounts.create_code("ALL", percent=100)
    assert check_discount("BIG", 1234, None, now=NOW).cents == 1234
    assert check_discount("ALL", 1234, None, now=NOW).cents == 1234


def test_every_refusal_says_why(app_ctx):
    discounts.create_code("OLD", percent=10, expires_on=date(2026, 11, 1))
    discounts.create_code("SOON", percent=10, starts_on=date(2026, 12, 1))
    discounts.create_code("MIN30", amount_cents=500, min_subtotal_cents=3000)
    discounts.create_code("OFF", percent=10)
    discounts.disable_code("off")
    assert refusal("NOPE") == "We don't know the code NOPE"
    assert refusal("  ") == "Enter a code"
    assert refusal("old") == "This code expired on 1 Nov 2026"
    assert refusal("SOON") == "This code can be used from 1 Dec 2026"
    assert refusal("MIN30", subtotal=2999) == "Spend $30.00 or more to use this code"
    assert refusal("OFF") == "This code is no longer valid"
    # The expiry day itself still works.
    assert check_discount("OLD", 5000, None, now=datetime(2026, 11, 1, 23, 59, tzinfo=UTC)).cents == 500


def test_a_used_up_code_and_a_customers_second_use_are_refused(app_ctx):
    discounts.create_code("ONCE", percent=10, max_uses_per_customer=1)
    discounts.create_code("TWO", percent=10, max_uses=2)
    order_id, user_id = place_order("ana@example.com")
    code = check_discount("ONCE", 5000, "ana@example.com", user_id)
    redeem_discount(code.code_id, order_id, user_id, "Ana@Example.com")
    assert refusal("ONCE", email="ANA@example.com") == "You have already used this code"
    # Same account, another email address: still the same customer.
    assert refusal("ONCE", email="other@example.com", user_id=user_id) == "You have already used this code"
    assert check_discount("ONCE", 5000, "bo@example.com").cents == 500

    two = check_discount("TWO", 5000, None)
    for n in range(2):
        order, user = place_order(f"r{n}@example.com")
        redeem_discount(two.code_id, order, user, f"r{n}@example.com")
    assert refusal("TWO") == "This code has been used up"
    order, user = place_order("late@example.com")
    with pytest.raises(DiscountRefused, match="^This code has been used up$"):
        redeem_discount(two.code_id, order, user, "late@example.com")
    assert uses("TWO") == 2


def test_redeeming_the_same_order_twice_counts_once(app_ctx):
    discounts.create_code("RETRY", percent=10, max_uses=5)
    order_id, user_id = place_order()
    code = check_discount("RETRY", 5000, None)
    first = redeem_discount(code.code_id, order_id, user_id, "buyer@example.com")
    again = redeem_discount(code.code_id, order_id, user_id, "buyer@example.com")
    assert again.id == first.id
    assert uses("RETRY") == 1
    assert db.session.scalar(select(db.func.count(DiscountRedemption.id))) == 1


def test_the_per_customer_limit_holds_at_redemption(app_ctx):
    discounts.create_code("ONE", amount_cents=500, max_uses_per_customer=1)
    code = check_discount("ONE", 5000, "ana@example.com")
    first, user_id = place_order("ana@example.com")
    redeem_discount(code.code_id, first, user_id, "ana@example.com")
    second, _ = place_order("ana2@example.com")
    with pytest.raises(DiscountRefused, match="^You have already used this code$"):
        redeem_discount(code.code_id, second, user_id, "ana@example.com")
    assert uses("ONE") == 1


def test_creating_codes_refuses_bad_settings(app_ctx):
    discounts.create_code("TAKEN", percent=5)
    for kwargs, message in [
        ({"code": "taken", "percent": 5}, "already exists"),
        ({"code": "X", "percent": 5, "amount_cents": 100}, "exactly one"),
        ({"code": "X"}, "exactly one"),
        ({"code": "X", "percent": 0}, "1 to 100"),
        ({"code": "X", "percent": 101}, "1 to 100"),
        ({"code": "bad code!", "percent": 5}, "letters, digits"),
        ({"code": "X", "amount_cents": 100, "max_uses": 0}, "--max-uses"),
    ]:
        with pytest.raises(DiscountSetupError, match=message):
            discounts.create_code(**kwargs)


def test_an_order_takes_one_code(app_ctx):
    first = discounts.create_code("FIRST", percent=10)
    second = discounts.create_code("SECOND", percent=10)
    order_id, user_id = place_order()
    redeem_discount(first.id, order_id, user_id, "buyer@example.com")
    with pytest.raises(DiscountRefused, match="^This order already has a discount code$"):
        redeem_discount(second.id, order_id, user_id, "buyer@example.com")
    assert (uses("FIRST"), uses("SECOND")) == (1, 0)
