"""Shipping, tax and discount codes from the command line: short results, one-line refusals, exit 1."""

import pytest

from app.pricing.quote import quote
from app.pricing.shipping import NotShippable, shipping_options


def run(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def refused(result, usage: bool = False) -> str:
    """The one-line error of a refused command (click's own usage errors also print the usage first)."""
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 or usage, result.output
    return lines[-1]


def test_zones_and_methods(app):
    assert run(app, "shipping", "zones", "add", "Europe", "--countries", "fr, de,GB").output == (
        "Zone 'Europe' added with 3 country(ies).\n"
    )
    added = run(
        app,
        "shipping",
        "methods",
        "add",
        "Europe",
        "Standard",
        "--kind",
        "per_item",
        "--amount",
        "4.99",
        "--per-item",
        "1.00",
        "--free-over",
        "50",
        "--estimate",
        "3-5 working days",
    )
    assert added.exit_code == 0, added.output
    assert added.output == "Method 1 'Standard' added to 'Europe': $4.99 + $1.00/item, free from $50.00.\n"
    assert "Europe                   1 method(s)  DE,FR,GB" in run(app, "shipping", "zones", "list").output
    table = run(app, "shipping", "rates").output
    assert "Standard" in table and "3-5 working days" in table and "DE,FR,GB" in table
    assert run(app, "shipping", "methods", "disable", "1").output == "Method 1 'Standard' disabled.\n"
    assert "disabled" in run(app, "shipping", "methods", "list").output
    assert run(app, "shipping", "zones", "remove", "Europe").output == "Zone 'Europe' removed.\n"
    assert run(app, "shipping", "zones", "list").output == "0 zone(s).\n"


def test_bad_shipping_input_is_refused_in_one_line(app):
    run(app, "shipping", "zones", "add", "Europe", "--countries", "FR")
    assert refused(run(app, "shipping", "zones", "add", "France", "--countries", "FR")) == (
        "Error: France (FR) is already in the zone 'Europe'"
    )
    assert "'XX' is not a country code" in refused(run(app, "shipping", "zones", "add", "X", "--countries", "XX"))
    assert refused(run(app, "shipping", "methods", "add", "Europe", "A", "--amount", "4.999")) == (
        "Error: --amount has fractions of a cent: '4.999'"
    )
    assert "--amount must be an amount in dollars" in refused(
        run(app, "shipping", "methods", "add", "Europe", "A", "--amount", "cheap")
    )
    assert "no shipping zone named 'Mars'" in refused(
        run(app, "shipping", "methods", "add", "Mars", "A", "--amount", "1")
    )
    assert "--free-over" in refused(
        run(app, "shipping", "methods", "add", "Europe", "A", "--kind", "free_over", "--amount", "1")
    )
    assert "no shipping method with id 99" in refused(run(app, "shipping", "methods", "disable", "99"))
    bad_kind = run(app, "shipping", "methods", "add", "Europe", "A", "--amount", "1", "--kind", "boat")
    assert "'boat' is not one of 'flat', 'per_item', 'free_over'" in refused(bad_kind, usage=True)


def test_tax_rates(app):
    assert run(app, "tax", "set", "us-ca", "7.25%", "--name", "Sales tax").output == "US-CA: 7.25% 'Sales tax'.\n"
    assert run(app, "tax", "set", "FR", "5.5", "--name", "VAT 5.5%", "--shipping").output == "FR: 5.5% 'VAT 5.5%'.\n"
    listed = run(app, "tax", "list").output
    assert "FR          5.5%  VAT 5.5%                     incl. shipping" in listed
    assert "US-CA      7.25%  Sales tax" in listed and listed.endswith("2 rate(s).\n")
    assert run(app, "tax", "remove", "fr").output == "Tax rate for FR removed.\n"
    assert "no tax rate for FR" in refused(run(app, "tax", "remove", "FR"))
    assert "percentage" in refused(run(app, "tax", "set", "FR", "lots", "--name", "VAT"))
    assert "not a country code" in refused(run(app, "tax", "set", "ZZ", "5%", "--name", "VAT"))
    assert "needs a name" in refused(run(app, "tax", "set", "FR", "5%", "--name", " "))


def test_discount_codes(app):
    created = run(
        app,
        "discounts",
        "create",
        "welcome10",
        "--percent",
        "10",
        "--min",
        "30",
        "--expires",
        "2026-12-31",
        "--max-uses",
        "100",
        "--per-customer",
        "1",
    )
    assert created.output == "Code WELCOME10 created: 10% off.\n"
    assert run(app, "discounts", "create", "FIVE", "--amount", "5.00").output == "Code FIVE created: $5.00 off.\n"
    listed = run(app, "discounts", "list").output
    assert "WELCOME10" in listed and "min $30.00, until 2026-12-31, 1/customer" in listed and "0/100 used" in listed
    assert run(app, "discounts", "disable", "five").output == "Code FIVE disabled.\n"
    assert "disabled" in run(app, "discounts", "list").output


@pytest.mark.parametrize(
    "args, message",
    [
        (("WELCOME10", "--percent", "10"), "the code WELCOME10 already exists"),
        (("X", "--percent", "10", "--amount", "1"), "exactly one of --percent or --amount"),
        (("X",), "exactly one of --percent or --amount"),
        (("X", "--percent", "150"), "1 to 100"),
        (("X", "--amount", "1.001"), "fractions of a cent"),
        (("X", "--amount", "0"), "more than 0.00"),
        (("X", "--amount", "1", "--expires", "31/12/2026"), "--expires must be a date such as 2026-12-31"),
        (("X", "--amount", "1", "--max-uses", "0"), "--max-uses must be at least 1"),
        (("X", "--percent", "ten"), "is not a valid integer"),
    ],
)
def test_bad_discount_codes_are_refused_in_one_line(app, args, message):
    run(app, "discounts", "create", "WELCOME10", "--percent", "10")
    assert message in refused(run(app, "discounts", "create", *args), usage=message.startswith("is not"))


def test_disabling_an_unknown_code(app):
    assert refused(run(app, "discounts", "disable", "nope")) == "Error: no discount code NOPE"


def test_the_demo_shop_ships_and_taxes(app):
    first = run(app, "seed", "demo")
    assert "Demo shipping, tax and codes: 4 shipping zones; 10 tax rates; codes WELCOME10, BOOKCLUB5 added." in (
        first.output
    )
    assert "Demo shipping, tax and codes: already set up, none added." in run(app, "seed", "demo").output
    rates = run(app, "shipping", "rates").output
    assert "United States" in rates and "Canada & Mexico" in rates and "Rest of world" in rates
    assert max(len(line) for line in rates.splitlines()) < 160 and "more)" in rates
    with app.app_context():
        us = {option.name: option for option in shipping_options("US", [(2500, 2)])}
        assert us["Standard"].cents == 0 and us["Express"].cents == 1299
        q = quote(
            [(1500, 2)],
            country_code="US",
            region="CA",
            method_id=us["Standard"].method_id,
            discount_code="welcome10",
            customer_email="ana@example.com",
        )
        assert (q.subtotal_cents, q.discount_cents, q.shipping_cents, q.tax_cents) == (3000, 300, 499, 196)
        assert quote([(1000, 1)], country_code="DE").tax_label == "MwSt. 7% (Bücher)"
        with pytest.raises(NotShippable, match="We don't ship to North Korea yet"):
            quote([(1000, 1)], country_code="KP")
