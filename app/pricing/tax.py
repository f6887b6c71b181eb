"""Tax: a rate per country, or per region of a country (a US state, a Canadian province); the region's
rate wins over the country's.

With prices tax-exclusive (the demo shop: US dollars, like a US shop) tax is added on top:
``tax = amount x rate``. With ``PRICES_INCLUDE_TAX`` the prices already contain it and the tax is the
contained part: ``tax = amount - amount x 10000 / (10000 + rate_bp)``. Both round half-up to the cent.
"""

from dataclasses import dataclass

from sqlalchemy import select

from app.extensions import db
from app.models import TaxRate
from app.pricing import PricingError
from app.pricing.countries import country_code
from app.pricing.money import div_half_up, percent_of


class TaxSetupError(PricingError):
    pass


@dataclass(frozen=True)
class Tax:
    cents: int
    rate_bp: int
    label: str


NO_TAX = Tax(0, 0, "")


def rate_for(country_code: str, region: str | None) -> TaxRate | None:
    """The region's rate if there is one, else the country's. One indexed query."""
    code, region = (country_code or "").strip().upper(), (region or "").strip().upper()
    return db.session.scalar(
        select(TaxRate)
        .where(TaxRate.country_code == code, TaxRate.region.in_({"", region}))
        .order_by(TaxRate.region.desc())
        .limit(1)
    )


def tax_on(rate_bp: int, amount_cents: int, prices_include_tax: bool) -> int:
    """The tax in ``amount_cents`` at ``rate_bp``: added on top, or contained when prices include it."""
    if amount_cents <= 0 or rate_bp <= 0:
        return 0
    if prices_include_tax:
        return amount_cents - div_half_up(amount_cents * 10000, 10000 + rate_bp)
    return percent_of(amount_cents, rate_bp)


def tax_for(country_code: str, region: str | None, taxable_cents: int, prices_include_tax: bool) -> Tax:
    """The tax on ``taxable_cents`` shipped to ``country_code`` (and ``region``); ``Tax(0, 0, "")`` if no rate."""
    rate = rate_for(country_code, region)
    if rate is None:
        return NO_TAX
    return Tax(tax_on(rate.rate_bp, taxable_cents, prices_include_tax), rate.rate_bp, rate.name)


def format_rate(rate_bp: int) -> str:
    """2000 -> "20%", 550 -> "5.5%", 725 -> "7.25%"."""
    whole, part = divmod(rate_bp, 100)
    return f"{whole}%" if not part else f"{whole}.{part:02d}".rstrip("0") + "%"


# ---- Admin (the CLI) ------------------------------------------------------------------------------


def parse_place(text: str) -> tuple[str, str]:
    """``"US-CA"`` -> ("US", "CA"); ``"fr"`` -> ("FR", "")."""
    country, _, region = (text or "").strip().upper().partition("-")
    code = country_code(country)
    if region and not (region.isalnum() and len(region) <= 8):
        raise TaxSetupError(f"{text.strip()!r} is not COUNTRY or COUNTRY-REGION (such as FR or US-CA)")
    return code, region


def parse_rate(text: str) -> int:
    """``"20%"`` or ``"5.5"`` -> basis points (2000, 550); at most two decimals, 0-100%."""
    from decimal import Decimal, InvalidOperation

    cleaned = (text or "").strip().rstrip("%").strip()
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise TaxSetupError(f"the rate must be a percentage such as 20% or 7.25%, not {text!r}") from None
    basis_points = value * 100
    if not value.is_finite() or not 0 <= value <= 100 or basis_points != basis_points.to_integral_value():
        raise TaxSetupError(f"the rate must be a percentage such as 20% or 7.25%, not {text!r}")
    return int(basis_points)


def set_rate(place: str, rate: str, name: str, *, applies_to_shipping: bool = False) -> TaxRate:
    """Create or replace the rate for ``place`` (``FR`` or ``US-CA``)."""
    country, region = parse_place(place)
    rate_bp = parse_rate(rate)
    name = (name or "").strip()
    if not name:
        raise TaxSetupError("a tax rate needs a name (--name 'VAT 20%')")
    row = db.session.scalar(select(TaxRate).where(TaxRate.country_code == country, TaxRate.region == region))
    if row is None:
        row = TaxRate(country_code=country, region=region)
        db.session.add(row)
    row.rate_bp, row.name, row.applies_to_shipping = rate_bp, name, applies_to_shipping
    db.session.commit()
    return row


def remove_rate(place: str) -> None:
    country, region = parse_place(place)
    row = db.session.scalar(select(TaxRate).where(TaxRate.country_code == country, TaxRate.region == region))
    if row is None:
        raise TaxSetupError(f"no tax rate for {place.strip().upper()}")
    db.session.delete(row)
    db.session.commit()
