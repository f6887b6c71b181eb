"""Checkout and orders."""

from flask import Blueprint

bp = Blueprint("orders", __name__)

from app.orders import fulfilment, views  # noqa: E402,F401  (fulfilment registers the "order" target)
