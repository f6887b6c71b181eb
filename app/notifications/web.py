"""The reader's notifications page (``/notifications``) and the nav badge; the API shares the store."""

from flask import Blueprint

bp = Blueprint("notifications", __name__)

from app.notifications import views  # noqa: E402,F401
