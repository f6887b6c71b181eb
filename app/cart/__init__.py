"""The cart: kept in the session for visitors, in the database for readers, merged at log in."""

from flask import Blueprint

bp = Blueprint("cart", __name__)

from app.cart import views  # noqa: E402,F401
