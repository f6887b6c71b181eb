"""Exact money arithmetic in integer cents: parsing typed amounts and rounding half-up."""

from decimal import Decimal, InvalidOperation

from app.pricing import PricingError


class BadAmount(PricingError):
    pass


def parse_amount(text: str, *, what: str = "amount") -> int:
    """``"4.99"`` -> 499 cents, exactly (Decimal); refuses negatives, fractions of a cent and words."""
    cleaned = (text or "").strip().lstrip("$").replace(",", "")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise BadAmount(f"{what} must be an amount in dollars such as 4.99, not {text!r}") from None
    if not value.is_finite() or value < 0:
        raise BadAmount(f"{what} must be an amount in dollars such as 4.99, not {text!r}")
    cents = value * 100
    if cents != cents.to_integral_value():
        raise BadAmount(f"{what} has fractions of a cent: {text!r}")
    if cents > 100_000_000:
        raise BadAmount(f"{what} is too large: {text!r}")
    return int(cents)


def div_half_up(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded half-up, for non-negative integers (no floats anywhere)."""
    return (2 * numerator + denominator) // (2 * denominator)


def percent_of(cents: int, basis_points: int) -> int:
    """``cents`` x ``basis_points`` / 10000, rounded half-up to the cent."""
    return div_half_up(cents * basis_points, 10000)
