"""The quote checkout shows and charges: books, discount, shipping, tax and total, in integer cents.

- The discount comes off the books only (never more than their subtotal).
- Free-over shipping looks at the subtotal before the discount (see ``shipping``).
- Tax is on the discounted books, plus shipping where the rate says it applies to shipping.
- Tax-exclusive prices (the default): total = subtotal - discount + shipping + tax.
  ``PRICES_INCLUDE_TAX``: total = subtotal - discount + shipping; the tax is the part contained in it.

A quote runs a fixed number of queries whatever the lines: at most one for shipping, two for the
discount and one for tax.
"""

from dataclasses import dataclass

from flask import current_app

from app.pricing.discounts import Discount, check_discount
from app.pricing.shipping import Lines, ShippingOption, choose_option, merchandise, shipping_options
from app.pricing.tax import NO_TAX, rate_for, tax_on


@dataclass(frozen=True)
class Quote:
    subtotal_cents: int
    discount_cents: int
    discount: Discount | None
    shipping_cents: int
    shipping: ShippingOption | None
    tax_cents: int
    tax_rate_bp: int
    tax_label: str
    total_cents: int
    prices_include_tax: bool


def quote(
    lines: Lines,
    *,
    country_code: str | None,
    region: str | None = None,
    method_id: int | None = None,
    discount_code: str | None = None,
    customer_email: str | None = None,
    user_id: int | None = None,
    prices_include_tax: bool | None = None,
) -> Quote:
    """Price ``lines`` ((unit cents, quantity) pairs) for delivery to ``country_code``.

    Without ``method_id`` no shipping is charged yet (the step before choosing a method); without
    ``country_code`` neither shipping nor tax. Raises ``NotShippable`` (no zone covers the country, or
    ``method_id`` is not one of its methods) and ``DiscountRefused`` (the code cannot be used).
    ``prices_include_tax`` defaults to the ``PRICES_INCLUDE_TAX`` setting.
    """
    if prices_include_tax is None:
        prices_include_tax = bool(current_app.config.get("PRICES_INCLUDE_TAX", False))
    if any(unit < 0 or quantity < 0 for unit, quantity in lines):
        raise ValueError("unit prices and quantities cannot be negative")
    subtotal, _ = merchandise(lines)

    shipping = None
    if country_code:
        options = shipping_options(country_code, lines)
        if method_id is not None:
            shipping = choose_option(options, method_id, country_code)
    shipping_cents = shipping.cents if shipping else 0

    discount = None
    if discount_code and discount_code.strip():
        discount = check_discount(discount_code, subtotal, customer_email, user_id)
    discount_cents = discount.cents if discount else 0
    goods = subtotal - discount_cents

    rate = rate_for(country_code, region) if country_code else None
    if rate is None:
        tax_cents, rate_bp, label = 0, NO_TAX.rate_bp, NO_TAX.label
    else:
        taxable = goods + (shipping_cents if rate.applies_to_shipping else 0)
        tax_cents, rate_bp, label = tax_on(rate.rate_bp, taxable, prices_include_tax), rate.rate_bp, rate.name

    total = goods + shipping_cents + (0 if prices_include_tax else tax_cents)
    return Quote(
        subtotal_cents=subtotal,
        discount_cents=discount_cents,
        discount=discount,
        shipping_cents=shipping_cents,
        shipping=shipping,
        tax_cents=tax_cents,
        tax_rate_bp=rate_bp,
        tax_label=label,
        total_cents=max(total, 0),
        prices_include_tax=prices_include_tax,
    )
