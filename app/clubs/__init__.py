"""Book clubs: the directory, club pages, membership and the owner's tools."""

from flask import Blueprint

bp = Blueprint("clubs", __name__)

from app.clubs import views  # noqa: E402,F401
