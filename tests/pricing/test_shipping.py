"""Shipping rules: flat, per item, free over an amount, and countries no zone covers."""

import pytest

from app.pricing.shipping import NotShippable, ShippingSetupError, shipping_options
from tests.pricing import shipping, us_and_europe


def prices(country, lines):
    return {option.name: option.cents for option in shipping_options(country, lines)}


def test_flat_per_item_and_free_over(app_ctx):
    us_and_europe()
    # Three books worth $30: flat $4.99; per book $2.00 + 3 x $1.00; free over $50 not reached.
    assert prices("US", [(1000, 3)]) == {"Standard": 499, "Per book": 500, "Free over": 599}
    # $50 of books reaches the threshold exactly.
    assert prices("us", [(2500, 2)])["Free over"] == 0
    assert prices("US", [(4999, 1)])["Free over"] == 599


def test_options_come_cheapest_first_with_their_estimate(app_ctx):
    us_and_europe()
    options = shipping_options("US", [(1000, 1)])
    assert [o.cents for o in options] == sorted(o.cents for o in options)
    standard = next(o for o in options if o.name == "Standard")
    assert standard.estimate == "3-5 working days"


def test_a_country_no_zone_covers_is_refused_by_name(app_ctx):
    us_and_europe()
    with pytest.raises(NotShippable, match="^We don't ship to Japan yet$"):
        shipping_options("JP", [(1000, 1)])


def test_a_zone_whose_methods_are_all_disabled_ships_nowhere(app_ctx):
    ids = us_and_europe()
    shipping.disable_method(ids["Europe/Standard"])
    with pytest.raises(NotShippable, match="France"):
        shipping_options("FR", [(1000, 1)])


def test_one_query_whatever_the_lines(app_ctx, count_queries):
    us_and_europe()
    with count_queries() as q:
        shipping_options("US", [(1000, n) for n in range(1, 30)])
    assert q.count == 1


def test_a_country_belongs_to_one_zone(app_ctx):
    us_and_europe()
    with pytest.raises(ShippingSetupError, match=r"France \(FR\) is already in the zone 'Europe'"):
        shipping.add_zone("France only", ["FR"])


def test_methods_need_what_their_kind_uses(app_ctx):
    us_and_europe()
    with pytest.raises(ShippingSetupError, match="--free-over"):
        shipping.add_method("Europe", "Free", kind="free_over", amount_cents=500)
    with pytest.raises(ShippingSetupError, match="--per-item"):
        shipping.add_method("Europe", "Each", kind="per_item", amount_cents=500)
    with pytest.raises(ShippingSetupError, match="no shipping zone named 'Mars'"):
        shipping.add_method("Mars", "Rocket", kind="flat", amount_cents=500)


def test_a_per_item_price_on_another_kind_is_refused(app_ctx):
    us_and_europe()
    with pytest.raises(ShippingSetupError, match="--per-item is for --kind per_item only"):
        shipping.add_method("Europe", "Flat", kind="flat", amount_cents=500, per_item_cents=100)
