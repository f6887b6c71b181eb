"""The checkout form: a confirmation that carries the one-time key of this checkout."""

from flask_wtf import FlaskForm

from app.payments.idempotency import IdempotencyKeyField


class CheckoutForm(FlaskForm):
    idempotency_key = IdempotencyKeyField()
