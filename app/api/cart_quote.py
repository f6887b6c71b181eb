"""A quote for the signed-in reader's cart: shipping options, discount, tax and total for an address.

The same service as the checkout's review; its refusals (an address its country refuses, a country
nobody ships to, a code that cannot be used, an empty cart) are 422 problem details naming the field.
"""

from __future__ import annotations

from flask import g

from app.addresses.services import AddressInvalid, AddressNotFound
from app.api import bp
from app.api.checkout_shapes import CartQuote, CartQuoteRequest
from app.api.common import invalid, token_required
from app.orders.checkout import quote_cart
from app.orders.services import OrderError
from app.pricing.discounts import DiscountRefused
from app.pricing.shipping import NotShippable


@bp.route("/me/cart/quote", methods=["POST"], tags=["me"])
@token_required
@bp.arguments(CartQuoteRequest)
@bp.response(200, CartQuote)
@bp.doc(operationId="quoteMyCart")
def quote_my_cart(body):
    """Price your cart for an address: the shipping options and the totals (nothing is saved)"""
    try:
        return quote_cart(
            g.api_user,
            address_id=body.get("address_id"),
            address=body.get("address"),
            method_id=body.get("method_id"),
            discount_code=body.get("discount_code"),
        )
    except AddressNotFound:
        raise invalid(
            {"address_id": ["There is no such address in your address book."]}, "Check the address."
        ) from None
    except AddressInvalid as exc:
        errors = {f"address.{name}": [message] for name, message in exc.errors.items()}
        raise invalid(errors, "Check the address.") from None
    except NotShippable as exc:
        field = "method_id" if "method" in str(exc) else "address"
        raise invalid({field: [str(exc)]}, str(exc)) from None
    except DiscountRefused as exc:
        raise invalid({"discount_code": [str(exc)]}, str(exc)) from None
    except OrderError as exc:
        raise invalid({"body": [str(exc)]}, str(exc)) from None
