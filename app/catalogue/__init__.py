"""The catalogue: book listing, search and detail pages."""

from flask import Blueprint

bp = Blueprint("catalogue", __name__)

from app.catalogue import cover_views, views  # noqa: E402,F401
