"""The quote checkout shows: books - discount + shipping + tax, never negative, in a fixed number of queries."""

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.pricing.discounts import DiscountRefused
from app.pricing.quote import quote
from app.pricing.shipping import NotShippable
from tests.pricing import discounts, tax, us_and_europe


def shop() -> dict[str, int]:
    ids = us_and_europe()
    tax.set_rate("US-CA", "7.25%", "Sales tax")
    tax.set_rate("FR", "5.5%", "VAT 5.5%")
    tax.set_rate("DE", "19%", "VAT 19%", applies_to_shipping=True)
    discounts.create_code("TEN", percent=10)
    discounts.create_code("SEVEN", percent=7)
    discounts.create_code("FIVE", amount_cents=500)
    discounts.create_code("HUGE", amount_cents=100_000)
    return ids


def test_a_us_quote_adds_tax_on_top(app_ctx):
    ids = shop()
    q = quote([(1500, 2)], country_code="US", region="CA", method_id=ids["United States/Standard"], discount_code="ten")
    assert (q.subtotal_cents, q.discount_cents, q.shipping_cents) == (3000, 300, 499)
    # 7.25% of the discounted books, $27.00 -> 195.75 -> 196; shipping is not taxed in California here.
    assert (q.tax_cents, q.tax_rate_bp, q.tax_label) == (196, 725, "Sales tax")
    assert q.total_cents == 3000 - 300 + 499 + 196
    assert q.shipping.estimate == "3-5 working days" and q.discount.description == "10% off"


def test_free_shipping_looks_at_the_books_before_the_discount(app_ctx):
    ids = shop()
    q = quote([(2500, 2)], country_code="US", method_id=ids["United States/Free over"], discount_code="FIVE")
    assert (q.subtotal_cents, q.discount_cents, q.shipping_cents) == (5000, 500, 0)


def test_prices_including_tax_contain_it(app_ctx):
    ids = shop()
    q = quote([(1000, 1)], country_code="DE", method_id=ids["Europe/Standard"], prices_include_tax=True)
    # 19% contained in the books and shipping: 2299 - 2299 x 10000 / 11900 = 2299 - 1931.9 -> 367.
    assert (q.shipping_cents, q.tax_cents, q.total_cents) == (1299, 367, 2299)
    assert q.prices_include_tax


def test_the_setting_decides_by_default(app, app_ctx):
    shop()
    app.config["PRICES_INCLUDE_TAX"] = True
    try:
        assert quote([(1055, 1)], country_code="FR").tax_cents == 55
    finally:
        app.config["PRICES_INCLUDE_TAX"] = False
    assert quote([(1000, 1)], country_code="FR").tax_cents == 55


def test_before_choosing_a_method_no_shipping_is_charged(app_ctx):
    shop()
    q = quote([(1000, 1)], country_code="FR")
    assert (q.shipping, q.shipping_cents, q.tax_cents, q.total_cents) == (None, 0, 55, 1055)


def test_refusals_reach_the_caller(app_ctx):
    ids = shop()
    with pytest.raises(NotShippable, match="We don't ship to Japan yet"):
        quote([(1000, 1)], country_code="JP")
    with pytest.raises(NotShippable, match="not available for France"):
        quote([(1000, 1)], country_code="FR", method_id=ids["United States/Standard"])
    with pytest.raises(DiscountRefused, match="We don't know the code NOPE"):
        quote([(1000, 1)], country_code="FR", discount_code="nope")


def test_a_fixed_number_of_queries_whatever_the_cart(app_ctx, count_queries):
    ids = shop()
    discounts.create_code("LIMITED", percent=5, max_uses_per_customer=1)
    for size in (1, 40):
        with count_queries() as q:
            quote(
                [(999, 1)] * size,
                country_code="US",
                region="CA",
                method_id=ids["United States/Per book"],
                discount_code="LIMITED",
                customer_email="ana@example.com",
            )
        assert q.count == 4  # shipping, the code, the customer's uses, the tax rate


lines = st.lists(st.tuples(st.integers(0, 20_000), st.integers(1, 5)), min_size=1, max_size=6)
places = st.sampled_from([("US", "CA"), ("US", None), ("FR", None), ("DE", None), ("GB", None)])
codes = st.sampled_from([None, "TEN", "SEVEN", "FIVE", "HUGE"])


def test_totals_always_add_up(app_ctx):
    ids = shop()
    method_for = {"US": ids["United States/Per book"], "FR": ids["Europe/Standard"], "DE": ids["Europe/Standard"]}

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(lines=lines, place=places, code=codes, inclusive=st.booleans())
    def check(lines, place, code, inclusive):
        country, region = place
        q = quote(
            lines,
            country_code=country,
            region=region,
            method_id=method_for.get(country),
            discount_code=code,
            prices_include_tax=inclusive,
        )
        assert q.subtotal_cents == sum(unit * qty for unit, qty in lines)
        assert 0 <= q.discount_cents <= q.subtotal_cents
        expected = q.subtotal_cents - q.discount_cents + q.shipping_cents + (0 if inclusive else q.tax_cents)
        assert q.total_cents == expected >= 0
        assert q.tax_cents >= 0
        if inclusive:
            assert q.tax_cents <= q.total_cents
        if code in ("TEN", "SEVEN"):
            exact = Decimal(q.subtotal_cents) * (10 if code == "TEN" else 7) / 100
            assert q.discount_cents == int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))

    check()


@given(amount=st.integers(0, 10**9), rate=st.integers(0, 10000))
def test_tax_rounding_matches_decimal_half_up(amount, rate):
    from app.pricing.tax import tax_on

    on_top = Decimal(amount) * rate / 10000
    assert tax_on(rate, amount, False) == int(on_top.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    net = (Decimal(amount) * 10000 / (10000 + rate)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    assert tax_on(rate, amount, True) == amount - int(net)
