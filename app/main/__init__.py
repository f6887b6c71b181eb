"""The home page, the health probes and uploaded media."""

from flask import Blueprint

bp = Blueprint("main", __name__)

from app.main import media, views  # noqa: E402,F401
