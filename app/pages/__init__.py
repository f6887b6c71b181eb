"""The shop's own pages (About, Contact, Terms, Privacy, Shipping, Refunds)."""

from flask import Blueprint

bp = Blueprint("pages", __name__)

from app.pages import views  # noqa: E402,F401
