"""The shapes of a cart's quote for the shell (see shapes.py for how shapes work)."""

from __future__ import annotations

from marshmallow import ValidationError, fields, validates_schema

from app.api.address_shapes import AddressRequest
from app.api.fields import Id, Text
from app.api.shapes import In, Out


class CartQuoteRequest(In):
    """Where the cart goes (one of your addresses, or an address given whole), how, and a code."""

    address_id = Id(metadata={"description": "One of your addresses."})
    address = fields.Nested(AddressRequest, metadata={"description": "An address not in your address book."})
    method_id = Id(metadata={"description": "A shipping method from the options; the cheapest when left out."})
    discount_code = Text(40, metadata={"description": "A discount code, such as WELCOME10."})

    @validates_schema
    def one_address(self, data, **kwargs):
        if ("address_id" in data) == ("address" in data):
            raise ValidationError("Give either address_id or address.", "address_id")


class ShippingOption(Out):
    method_id = fields.Integer()
    name = fields.String()
    cents = fields.Integer(metadata={"description": "The price for this cart, in cents."})
    estimate = fields.String()


class CartQuote(Out):
    """The cart priced for an address: total = subtotal - discount + shipping + tax (tax is part of
    the prices, not added, when ``prices_include_tax``)."""

    options = fields.List(fields.Nested(ShippingOption))
    method_id = fields.Integer(attribute="quote.shipping.method_id")
    shipping_method = fields.String(attribute="quote.shipping.name")
    ship_to = fields.List(fields.String(), attribute="address.lines")
    subtotal_cents = fields.Integer(attribute="quote.subtotal_cents")
    discount_cents = fields.Integer(attribute="quote.discount_cents")
    discount_code = fields.String(attribute="quote.discount.code", allow_none=True)
    shipping_cents = fields.Integer(attribute="quote.shipping_cents")
    tax_cents = fields.Integer(attribute="quote.tax_cents")
    tax_rate_bp = fields.Integer(attribute="quote.tax_rate_bp")
    tax_label = fields.String(attribute="quote.tax_label")
    prices_include_tax = fields.Boolean(attribute="quote.prices_include_tax")
    total_cents = fields.Integer(attribute="quote.total_cents")
