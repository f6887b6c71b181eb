"""Guest orders: bought with an email address and no account, reached through a signed link,
and claimed by the account that later verifies the same address."""

from __future__ import annotations

import hashlib
import hmac

from flask import url_for
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import func, select, update
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.keys import GUEST_ORDERS, signing_key
from app.models import Order, User
from app.models.base import utcnow
from app.notifications.inbox import notify

LINK_SALT = "orders.guest-link"


class GuestLinkClaimed(Exception):
    """The link's order now belongs to an account: its owner sees it after logging in."""

    def __init__(self, order_id: int) -> None:
        super().__init__(f"Order #{order_id} is in an account now.")
        self.order_id = order_id


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(signing_key(GUEST_ORDERS), salt=LINK_SALT)


def _address_digest(email: str | None) -> str:
    # The link names the address by a digest: it is readable (signed, not encrypted) and ends up
    # in access logs and browser histories, where an email address should not.
    return hashlib.sha256((email or "").strip().lower().encode()).hexdigest()[:20]


def guest_order_token(order: Order) -> str:
    """The signed part of a guest order's link: the order and the address it was bought with."""
    return _serializer().dumps({"o": order.id, "e": _address_digest(order.guest_email)})


def guest_order_url(order: Order) -> str:
    """The absolute link (on BASE_URL) a guest opens to see ``order`` without an account."""
    return url_for("orders.guest_show", token=guest_order_token(order), _external=True)


def order_url(order: Order) -> str:
    """The absolute link an order's emails carry: the account's order page, or the guest link."""
    if order.user_id is None:
        return guest_order_url(order)
    return url_for("orders.show", order_id=order.id, _external=True)


def order_for_guest_token(token: str) -> Order | None:
    """The guest order a link names, with its lines; None for a broken or tampered link.

    Raises ``GuestLinkClaimed`` once an account has claimed the order: the link stops showing it
    (the account's owner logs in to see it)."""
    try:
        payload = _serializer().loads(token)
        order_id, email = int(payload["o"]), str(payload["e"])
    except (BadSignature, KeyError, TypeError, ValueError):
        return None
    order = db.session.scalar(select(Order).where(Order.id == order_id).options(selectinload(Order.lines)))
    if order is None or not hmac.compare_digest(_address_digest(order.guest_email), email):
        return None
    if order.user_id is not None:
        raise GuestLinkClaimed(order.id)
    return order


def claim_guest_orders(user: User) -> int:
    """Move the guest orders bought with ``user``'s email into the account; how many moved.

    Only a verified address claims (an unverified one could be someone else's). One UPDATE, and
    a notification that tells the reader once (the next run finds nothing to move); committed.
    The guest email stays on the order as its history. Called when an address is confirmed and
    at every log in (app.accounts.services).
    """
    if user.email_verified_at is None or not user.is_active:
        return 0
    moved = (
        db.session.execute(
            update(Order)
            .where(Order.user_id.is_(None), func.lower(Order.guest_email) == user.email.lower())
            .values(user_id=user.id)
            .execution_options(synchronize_session=False)
        ).rowcount
        or 0
    )
    if moved:
        notify(
            user.id,
            kind="order",
            key=f"guest-orders-claimed:{user.id}:{utcnow():%Y%m%d%H%M%S%f}",
            title=claimed_message(moved),
            url="/orders",
        )
    db.session.commit()
    return moved


def claimed_message(count: int) -> str:
    if count == 1:
        return "1 earlier order is now in your account."
    return f"{count} earlier orders are now in your account."
