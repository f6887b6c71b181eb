"""Addresses: a reader's address book and a club's delivery address."""

from flask import Blueprint

bp = Blueprint("addresses", __name__)

from app.addresses import views  # noqa: E402,F401
