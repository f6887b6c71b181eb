"""What a checkout charges besides the books: shipping, tax and discount codes, and the quote that adds
them up. Each rule has its own module; ``quote()`` is what checkout calls.

- ``shipping``: zones (sets of countries) and their methods; ``shipping_options(country, lines)``.
- ``tax``: rates per country or region; ``tax_for(country, region, taxable_cents, prices_include_tax)``.
- ``discounts``: codes; ``check_discount(...)`` at review, ``redeem_discount(...)`` once per paid order.
- ``quote``: ``quote(lines, country_code=..., ...)`` -> ``Quote`` (subtotal, discount, shipping, tax, total).

Money is integer cents everywhere; rates are basis points (2000 = 20%).
"""


class PricingError(Exception):
    """A refusal whose message is shown as is (to a shopper, or as the CLI's one-line error)."""
