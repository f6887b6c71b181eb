"""Tax: added on top or contained in the price, rounded half-up to the cent; a region's rate wins."""

import pytest

from app.pricing.money import BadAmount, parse_amount
from app.pricing.tax import Tax, TaxSetupError, format_rate, tax_for, tax_on
from tests.pricing import tax


def test_exclusive_tax_is_added_and_rounds_half_up():
    assert tax_on(2000, 1000, False) == 200
    # 7.25% of $0.10 = 0.725 cents -> 1 cent; of $0.06 = 0.435 -> 0; of $2.00 = 14.5 -> 15.
    assert tax_on(725, 10, False) == 1
    assert tax_on(725, 6, False) == 0
    assert tax_on(725, 200, False) == 15


def test_inclusive_tax_is_the_contained_part():
    # $12.00 with 20% VAT inside: net $10.00, tax $2.00.
    assert tax_on(2000, 1200, True) == 200
    # $10.00 with 5.5% inside: net 947.867... -> 948, tax 52.
    assert tax_on(550, 1000, True) == 52
    # Half a cent: $1.05 at 5% contains net exactly 100 cents -> tax 5.
    assert tax_on(500, 105, True) == 5


def test_no_tax_on_nothing_and_at_zero_rate():
    assert tax_on(2000, 0, False) == 0
    assert tax_on(0, 1000, True) == 0


def test_region_rate_wins_over_the_country_rate(app_ctx):
    tax.set_rate("US", "0", "No sales tax")
    tax.set_rate("us-ca", "7.25%", "California sales tax")
    assert tax_for("US", "CA", 10000, False) == Tax(725, 725, "California sales tax")
    assert tax_for("US", "OR", 10000, False) == Tax(0, 0, "No sales tax")
    assert tax_for("US", None, 10000, False).label == "No sales tax"


def test_a_country_without_a_rate_pays_none(app_ctx):
    assert tax_for("JP", None, 10000, False) == Tax(0, 0, "")


def test_setting_a_rate_again_replaces_it(app_ctx):
    tax.set_rate("FR", "20%", "VAT 20%")
    tax.set_rate("FR", "5.5%", "VAT 5.5% (books)")
    assert tax_for("FR", None, 1000, True) == Tax(52, 550, "VAT 5.5% (books)")


@pytest.mark.parametrize("rate", ["abc", "101%", "-1", "5.555", "nan"])
def test_bad_rates_are_refused(app_ctx, rate):
    with pytest.raises(TaxSetupError, match="percentage"):
        tax.set_rate("FR", rate, "VAT")


def test_rates_read_as_percentages():
    assert [format_rate(bp) for bp in (2000, 550, 725, 0)] == ["20%", "5.5%", "7.25%", "0%"]


def test_typed_amounts_are_exact_cents():
    assert parse_amount("4.99") == 499
    assert parse_amount("$1,250.5") == 125050
    assert parse_amount("0") == 0
    for bad in ("4.999", "-1", "five", "", "1e400", "inf"):
        with pytest.raises(BadAmount):
            parse_amount(bad)
