"""Checkout and orders."""

from flask import Blueprint

bp = Blueprint("orders", __name__)

from app.notifications.email import attach_to  # noqa: E402
from app.orders import (  # noqa: E402,F401  (fulfilment registers the "order" target)
    checkout_views,
    fulfilment,
    guest_views,
    views,
)
from app.orders.documents import receipt_attachments  # noqa: E402

attach_to("order_receipt", receipt_attachments)  # the invoice PDF rides on the receipt
