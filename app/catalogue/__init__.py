"""The catalogue: book listing, search and detail pages."""

from flask import Blueprint

bp = Blueprint("catalogue", __name__)

from app.catalogue import views  # noqa: E402,F401
