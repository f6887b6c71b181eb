"""Guest orders: bought with an email address and no account, reached through a signed link,
and claimed by the account that later verifies the same address."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import Book, Order
from app.orders.services import OrderError, pending_order
from app.payments.gateway import get_gateway


def create_guest_order(email: str, copies: list[tuple[Book, int]], **snapshot) -> Order:
    """A pending order for a visitor without an account, added and committed.

    ``copies`` are (book, quantity) pairs as for ``pending_order``; ``snapshot`` sets the other
    columns the checkout fills (``ship_to``, ``shipping_method``, ``shipping_cents``, ``tax_cents``,
    ``total_cents``, ``idempotency_key``...). With an ``idempotency_key``, a resend returns the
    guest order the first send made (the key is unique per account, so for guests it is looked up).
    """
    email = (email or "").strip()
    if not email or "@" not in email:
        raise OrderError("Please give the email address your receipt should go to.")
    if not copies:
        raise OrderError("Your cart is empty.")
    key = snapshot.get("idempotency_key")
    if key:
        first = db.session.scalar(select(Order).where(Order.user_id.is_(None), Order.idempotency_key == key))
        if first is not None:
            return first
    order = pending_order(None, copies, gateway=get_gateway().name, guest_email=email, **snapshot)
    db.session.add(order)
    db.session.commit()
    return order
