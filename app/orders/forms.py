"""Checkout forms: the address step's extra fields, the shipping choice, the discount code, Pay."""

from flask_wtf import FlaskForm
from wtforms import EmailField, StringField

from app.payments.idempotency import IdempotencyKeyField


class CheckoutForm(FlaskForm):
    """Pay: a confirmation that carries the one-time key of this checkout."""

    idempotency_key = IdempotencyKeyField()


class GuestEmailForm(FlaskForm):
    """A guest's email at the address step (checked by the checkout service with the address)."""

    email = EmailField("Email (for your receipt)")


class DiscountForm(FlaskForm):
    code = StringField("Discount code")
