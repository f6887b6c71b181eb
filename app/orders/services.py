"""Checkout rules: an order snapshots the cart's prices, then goes to the payment gateway."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import Book, CartItem, Club, DiscountCode, Order, OrderLine, OrderStatus, User
from app.models.base import utcnow
from app.payments.checkout import checkout_request, insert_once, open_session, ready_to_pay
from app.payments.gateway import GatewayError, LineItem, gateway_computes_tax, get_gateway
from app.pricing.discounts import DiscountRefused, redeem_discount

REUSE_WINDOW = timedelta(hours=1)


class OrderError(ValueError):
    """The order cannot go ahead; the message says why."""


def ordered_under(user_id: int | None, idempotency_key: str, guest_email: str | None = None) -> Order | None:
    """The order a checkout form with this key made (a reader's, or a guest's by email), if any."""
    who = Order.user_id == user_id if user_id is not None else Order.guest_email == guest_email
    return db.session.scalar(select(Order).where(who, Order.idempotency_key == idempotency_key))


def _in_stock(items: list[tuple[Book, int]]) -> list[tuple[Book, int]]:
    """``items`` ((book, quantity) pairs); OrderError if there are none or stock is short."""
    if not items:
        raise OrderError("Your cart is empty.")
    short = [book.title for book, quantity in items if quantity > book.stock]
    if short:
        raise OrderError(f"Not enough copies left of: {', '.join(short)}. Change the quantities in your cart.")
    return items


def _cart_items_in_stock(user_id: int) -> list[tuple[Book, int]]:
    """The reader's cart as (Book, quantity) pairs by title; OrderError if it is empty or stock is short."""
    items = db.session.execute(
        select(CartItem, Book)
        .join(Book, Book.id == CartItem.book_id)
        .where(CartItem.user_id == user_id, Book.removed_at.is_(None))
        .order_by(Book.title)
    ).all()
    return _in_stock([(book, item.quantity) for item, book in items])


def _charged(order: Order) -> tuple:
    return (order.total_cents, order.ship_to, order.shipping_method, order.discount_code)


def _recent_open_order(user_id: int, wanted: list[tuple[int, int, int]], charges: dict) -> Order | None:
    """A pending order made a moment ago for the same (book, quantity, price) lines and the same
    charges (address, shipping, discount, total), if any."""
    expected = (
        charges.get("total_cents", sum(q * p for _, q, p in wanted)),
        charges.get("ship_to"),
        charges.get("shipping_method"),
        charges.get("discount_code"),
    )
    for recent in db.session.scalars(
        select(Order)
        .where(
            Order.user_id == user_id, Order.status == OrderStatus.PENDING, Order.created_at >= utcnow() - REUSE_WINDOW
        )
        .options(selectinload(Order.lines))
        .order_by(Order.id.desc())
        .limit(3)
    ):
        same_lines = sorted((line.book_id, line.quantity, line.unit_price_cents) for line in recent.lines) == wanted
        if same_lines and _charged(recent) == expected:
            return recent
    return None


def pending_order(user_id: int | None, copies: list[tuple[Book, int]], *, gateway: str, **more) -> Order:
    """A pending order for (book, quantity) pairs: each line snapshots the book's title, ISBN and
    price, and the total is theirs. ``more`` sets other columns (``club_id``, ``idempotency_key``,
    ``guest_email`` - a guest order has ``user_id`` None, see app.orders.guests). Not added to the
    session."""
    subtotal = sum(quantity * book.price_cents for book, quantity in copies)
    columns = {"subtotal_cents": subtotal, "total_cents": subtotal, **more}
    order = Order(user_id=user_id, status=OrderStatus.PENDING, gateway=gateway, **columns)
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


def create_order_from_cart(
    user: User,
    idempotency_key: str | None = None,
    *,
    charges: dict | None = None,
    reserve: Callable[[Order], None] | None = None,
) -> Order:
    """Snapshot the reader's cart into a pending order (or reuse an identical open one).

    ``charges`` are the checkout's snapshot columns (ship_to, shipping, tax, discount, total_cents from
    its quote); ``reserve`` counts the discount code's use in the transaction that inserts the order.
    With an ``idempotency_key`` (one per rendered checkout form), a resend returns the order the
    first send made, whatever happened since; the unique key holds even for sends at the same moment.
    """
    user_id = user.id
    charges = charges or {}

    def resent() -> Order | None:
        return ordered_under(user_id, idempotency_key) if idempotency_key else None

    first = resent()
    if first is not None:
        return first
    if not user.is_verified:
        raise OrderError("Please confirm your email address before you check out.")
    items = _cart_items_in_stock(user_id)
    wanted = sorted((book.id, quantity, book.price_cents) for book, quantity in items)
    # A double click or a back-and-forth reuses the open order instead of creating another.
    recent = _recent_open_order(user_id, wanted, charges)
    if recent is not None:
        return recent

    order = pending_order(
        user_id, items, gateway=get_gateway().name, idempotency_key=idempotency_key or None, **charges
    )
    return insert_once(order, resent, reserve)


def guest_order_from_cart(
    email: str,
    items: list[tuple[Book, int]],
    idempotency_key: str | None = None,
    *,
    charges: dict,
    reserve: Callable[[Order], None] | None = None,
) -> Order:
    """A visitor's pending order (no account): ``items`` from the session cart, ``email`` for the receipt."""

    def resent() -> Order | None:
        return ordered_under(None, idempotency_key, email) if idempotency_key else None

    first = resent()
    if first is not None:
        return first
    order = pending_order(
        None,
        _in_stock(items),
        gateway=get_gateway().name,
        idempotency_key=idempotency_key or None,
        guest_email=email,
        **charges,
    )
    return insert_once(order, resent, reserve)


def reserve_discount(order: Order) -> None:
    """Count the order's discount code once, in the caller's transaction (a retry counts nothing more).

    Raises DiscountRefused when the code was used up meanwhile (overall, or by this customer).
    """
    if not order.discount_code:
        return
    code_id = db.session.scalar(select(DiscountCode.id).where(DiscountCode.code == order.discount_code))
    if code_id is None:
        raise DiscountRefused("This code is no longer valid")
    email = order.guest_email or db.session.scalar(select(User.email).where(User.id == order.user_id)) or ""
    redeem_discount(code_id, order.id, order.user_id, email, commit=False)


def _gateway_request(order: Order, email: str):
    """The gateway's request for ``order``: its lines, and the shipping, tax and discount it snapshotted,
    so the gateway charges the order's total. A guest comes back to the order's signed page."""
    lines = db.session.scalars(select(OrderLine).where(OrderLine.order_id == order.id).order_by(OrderLine.id)).all()
    request = checkout_request(
        order,
        "order",
        "orders.show",
        line_items=[LineItem(line.title, line.unit_price_cents, line.quantity) for line in lines],
        customer_email=email,
    )
    automatic_tax = gateway_computes_tax()
    extra: dict = {
        "shipping": LineItem(f"Shipping: {order.shipping_method}", order.shipping_cents, 1)
        if order.shipping_method
        else None,
        # Prices that include tax carry it already; with Stripe Tax the gateway computes it.
        "tax": LineItem(f"Tax: {order.tax_label or 'Tax'}", order.tax_cents, 1)
        if order.tax_cents and not order.prices_include_tax and not automatic_tax
        else None,
        "discount_cents": order.discount_cents,
        "discount_label": order.discount_code or "",
        "automatic_tax": automatic_tax,
    }
    if order.user_id is None:
        from app.orders.guests import guest_order_url

        page = guest_order_url(order)
        extra["success_url"], extra["cancel_url"] = page, page
    return replace(request, **extra)


def start_checkout(order: Order, user: User | None = None) -> str:
    """The gateway's payment page for ``order``. Raises GatewayError, leaving the order pending.

    A new attempt after a failed or expired payment reserves the discount code again (its use was
    given back); OrderError if it was used up meanwhile.
    """
    ready_to_pay(order, "order", OrderError)
    if order.checkout_url:
        return order.checkout_url
    try:
        reserve_discount(order)
        db.session.commit()
    except DiscountRefused as exc:
        db.session.rollback()
        raise OrderError(
            f"The code {order.discount_code} cannot be used any more: {exc}. Please check out again."
        ) from None
    email = order.guest_email or (user.email if user is not None else "")
    return open_session(order, get_gateway(), _gateway_request(order, email))


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
