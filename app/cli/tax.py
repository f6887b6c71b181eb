"""``flask tax``: tax rates per country, or per region of a country (US-CA)."""

import click
from sqlalchemy import select

from app.cli import CommandGroup, exit_on
from app.cli.audit import record_admin_action
from app.extensions import db
from app.models import TaxRate
from app.pricing import PricingError
from app.pricing import tax as services
from app.pricing.tax import format_rate

tax = CommandGroup("tax", help="Tax rates per country or region.")


def _place(rate: TaxRate) -> str:
    return f"{rate.country_code}-{rate.region}" if rate.region else rate.country_code


@tax.command("list")
def list_rates() -> None:
    """Every rate: place, rate, name, whether shipping is taxed."""
    rates = list(db.session.scalars(select(TaxRate).order_by(TaxRate.country_code, TaxRate.region)))
    for rate in rates:
        on_shipping = "incl. shipping" if rate.applies_to_shipping else "books only"
        click.echo(f"{_place(rate):<8} {format_rate(rate.rate_bp):>7}  {rate.name:<28} {on_shipping}")
    click.echo(f"{len(rates)} rate(s).")


@tax.command("set")
@click.argument("place")
@click.argument("rate")
@click.option("--name", required=True, help='What receipts call it, e.g. "VAT 5.5%" or "Sales tax".')
@click.option("--shipping/--no-shipping", "applies_to_shipping", default=False, help="Tax shipping too.")
def set_rate(place: str, rate: str, name: str, applies_to_shipping: bool) -> None:
    """Set the rate for COUNTRY or COUNTRY-REGION (FR, US-CA) to RATE (20% or 7.25)."""
    with exit_on(PricingError):
        row = services.set_rate(place, rate, name, applies_to_shipping=applies_to_shipping)
    record_admin_action("tax set", _place(row), rate_bp=row.rate_bp)
    click.echo(f"{_place(row)}: {format_rate(row.rate_bp)} {row.name!r}.")


@tax.command("remove")
@click.argument("place")
def remove_rate(place: str) -> None:
    """Remove the rate for COUNTRY or COUNTRY-REGION."""
    with exit_on(PricingError):
        services.remove_rate(place)
    record_admin_action("tax remove", place.strip().upper())
    click.echo(f"Tax rate for {place.strip().upper()} removed.")
