"""Payments: the gateway interface, its Stripe and simulated adapters, webhooks, fulfilment."""

from flask import Blueprint

bp = Blueprint("payments", __name__)

from app.payments import views  # noqa: E402,F401
