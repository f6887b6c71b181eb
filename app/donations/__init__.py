"""Donations to clubs (money and books), the club fund, wishlists and club purchases."""

from flask import Blueprint

bp = Blueprint("donations", __name__)

from app.donations import shelf_views, target, views  # noqa: E402,F401  (target registers the "donation" payment target)
