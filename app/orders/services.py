"""Checkout rules: an order snapshots the cart's prices, then goes to the payment gateway."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import Book, CartItem, Club, Order, OrderLine, OrderStatus, User
from app.models.base import utcnow
from app.payments.checkout import checkout_request, insert_once, open_session, ready_to_pay
from app.payments.gateway import GatewayError, LineItem, get_gateway

REUSE_WINDOW = timedelta(hours=1)


class OrderError(ValueError):
    """The order cannot go ahead; the message says why."""


def _ordered_under(user_id: int, idempotency_key: str) -> Order | None:
    return db.session.scalar(select(Order).where(Order.user_id == user_id, Order.idempotency_key == idempotency_key))


def _cart_items_in_stock(user_id: int) -> list:
    """The reader's cart as (CartItem, Book) rows by title; OrderError if it is empty or stock is short."""
    items = db.session.execute(
        select(CartItem, Book)
        .join(Book, Book.id == CartItem.book_id)
        .where(CartItem.user_id == user_id, Book.removed_at.is_(None))
        .order_by(Book.title)
    ).all()
    if not items:
        raise OrderError("Your cart is empty.")
    short = [book.title for item, book in items if item.quantity > book.stock]
    if short:
        raise OrderError(f"Not enough copies left of: {', '.join(short)}. Change the quantities in your cart.")
    return items


def _recent_open_order(user_id: int, wanted: list[tuple[int, int, int]]) -> Order | None:
    """A pending order made a moment ago for the same (book, quantity, price) lines, if any."""
    for recent in db.session.scalars(
        select(Order)
        .where(
            Order.user_id == user_id, Order.status == OrderStatus.PENDING, Order.created_at >= utcnow() - REUSE_WINDOW
        )
        .options(selectinload(Order.lines))
        .order_by(Order.id.desc())
        .limit(3)
    ):
        if sorted((line.book_id, line.quantity, line.unit_price_cents) for line in recent.lines) == wanted:
            return recent
    return None


def pending_order(user_id: int | None, copies: list[tuple[Book, int]], *, gateway: str, **more) -> Order:
    """A pending order for (book, quantity) pairs: each line snapshots the book's title, ISBN and
    price, and the total is theirs. ``more`` sets other columns (``club_id``, ``idempotency_key``,
    ``guest_email`` - a guest order has ``user_id`` None, see app.orders.guests). Not added to the
    session."""
    subtotal = sum(quantity * book.price_cents for book, quantity in copies)
    order = Order(
        user_id=user_id,
        status=OrderStatus.PENDING,
        gateway=gateway,
        subtotal_cents=subtotal,
        total_cents=subtotal,
        **more,
    )
    order.lines = [
        OrderLine(
            book_id=book.id,
            title=book.title,
            isbn13=book.isbn13,
            unit_price_cents=book.price_cents,
            quantity=quantity,
        )
        for book, quantity in copies
    ]
    return order


def create_order_from_cart(user: User, idempotency_key: str | None = None) -> Order:
    """Snapshot the reader's cart into a pending order (or reuse an identical open one).

    With an ``idempotency_key`` (one per rendered checkout form), a resend returns the order the
    first send made, whatever happened since; the unique key holds even for sends at the same moment.
    """
    user_id = user.id

    def resent() -> Order | None:
        return _ordered_under(user_id, idempotency_key) if idempotency_key else None

    first = resent()
    if first is not None:
        return first
    if not user.is_verified:
        raise OrderError("Please confirm your email address before you check out.")
    items = _cart_items_in_stock(user_id)
    wanted = sorted((book.id, item.quantity, book.price_cents) for item, book in items)
    # A double click or a back-and-forth reuses the open order instead of creating another.
    recent = _recent_open_order(user_id, wanted)
    if recent is not None:
        return recent

    order = pending_order(
        user_id,
        [(book, item.quantity) for item, book in items],
        gateway=get_gateway().name,
        idempotency_key=idempotency_key or None,
    )
    return insert_once(order, resent)


def start_checkout(order: Order, user: User) -> str:
    """The gateway's payment page for ``order``. Raises GatewayError, leaving the order pending."""
    ready_to_pay(order, "order", OrderError)
    if order.checkout_url:
        return order.checkout_url
    lines = db.session.scalars(select(OrderLine).where(OrderLine.order_id == order.id).order_by(OrderLine.id)).all()
    return open_session(
        order,
        get_gateway(),
        checkout_request(
            order,
            "order",
            "orders.show",
            line_items=[LineItem(line.title, line.unit_price_cents, line.quantity) for line in lines],
            customer_email=user.email,
        ),
    )


def order_for_user(order_id: int, user: User) -> Order | None:
    """The reader's own order with its lines (another reader's order is None: shown as 404)."""
    return db.session.scalar(
        select(Order).where(Order.id == order_id, Order.user_id == user.id).options(selectinload(Order.lines))
    )


def gift_club(order: Order) -> Club | None:
    """The club an order's books were bought for (a wishlist gift), or None."""
    return db.session.get(Club, order.club_id) if order.club_id else None


def orders_for_user(user: User) -> list[tuple[Order, int]]:
    """The reader's orders, newest first, each with its number of copies (one query)."""
    copies = (
        select(OrderLine.order_id, func.sum(OrderLine.quantity).label("copies")).group_by(OrderLine.order_id).subquery()
    )
    rows = db.session.execute(
        select(Order, copies.c.copies)
        .join(copies, copies.c.order_id == Order.id)
        .where(Order.user_id == user.id)
        .order_by(Order.id.desc())
    ).all()
    return [(order, int(count)) for order, count in rows]


__all__ = ["GatewayError", "OrderError", "create_order_from_cart", "start_checkout"]
