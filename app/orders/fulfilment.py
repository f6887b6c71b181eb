"""What payment events do to an order: take stock, send the receipt, refund, fail, expire."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from app.cart.services import clear_books_from_cart
from app.catalogue.caching import invalidate_books
from app.extensions import db
from app.jobs import enqueue
from app.models import Book, Club, FulfilmentStatus, Order, OrderLine, OrderStatus, User
from app.models.base import utcnow
from app.notifications.email import record_email
from app.observability.metrics import count_after_commit
from app.payments.gateway import LineItem
from app.payments.target import AfterCommit, Charges, Target, automatic_tax_of, register_target
from app.pricing.discounts import release_discount

FUND_GATEWAY = "fund"  # orders paid from a club fund (app.donations.shelf.buy_from_fund)


def take_stock(order: Order) -> bool:
    """Decrement stock for every line, all or nothing; never below zero, safe under concurrency.

    Each line is a conditional UPDATE (``stock >= quantity``): PostgreSQL re-checks it after a
    concurrent buyer's commit, so two orders can never both take the last copy.
    """
    savepoint = db.session.begin_nested()
    for line in sorted(order.lines, key=lambda line: line.book_id):  # one lock order: no deadlocks
        result = db.session.execute(
            update(Book)
            .where(Book.id == line.book_id, Book.stock >= line.quantity)
            .values(stock=Book.stock - line.quantity)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            savepoint.rollback()
            return False
    savepoint.commit()
    return True


def return_stock(order: Order) -> None:
    for line in order.lines:
        db.session.execute(
            update(Book)
            .where(Book.id == line.book_id)
            .values(stock=Book.stock + line.quantity)
            .execution_options(synchronize_session=False)
        )


def _email(order: Order, template: str, subject: str, key: str, **context) -> None:
    """Email the buyer about ``order`` (unless their account is gone); sent when this commits.

    A guest order's emails go to its guest email and carry the signed guest link instead of the
    account's order page (``order_url``)."""
    from app.orders.guests import order_url

    if order.user_id is None:
        record_email(
            key=key,
            template=template,
            to=order.guest_email,
            subject=subject,
            order=order,
            order_url=order_url(order),
            **context,
        )
        return
    buyer = db.session.get(User, order.user_id)
    if buyer is None or buyer.deleted_at is not None:
        return
    record_email(
        key=key,
        template=template,
        to=buyer.email,
        subject=subject,
        user=buyer,
        order=order,
        order_url=order_url(order),
        **context,
    )


def refund_order(order_id: int, amount_cents: int | None = None) -> str:
    """The refund job: pay back ``amount_cents`` (default: all that is left) of a paid order.

    A card payment is refunded through the gateway, whose event records it; a purchase from a
    club fund goes back to the fund at once. The step's key names the order and the amount
    refunded before it, so a retried job repeats the same step, never a second one.
    """
    from app.payments.gateway import get_gateway

    order = db.session.get(Order, order_id)
    if order is None or order.paid_at is None or order.status == OrderStatus.REFUNDED:
        return "nothing to refund"
    left = order.total_cents - order.refunded_cents
    amount = left if amount_cents is None else min(amount_cents, left)
    if amount <= 0:
        return "nothing to refund"
    refunded_before = order.refunded_cents
    key = f"refund-order-{order_id}-from-{refunded_before}-{amount}"
    if order.gateway == FUND_GATEWAY:
        return _refund_to_fund(order_id, refunded_before, amount, key)
    payment_intent_id = order.payment_intent_id
    if payment_intent_id is None:
        return "nothing to refund"
    db.session.rollback()  # no transaction held open while we wait for the gateway
    return get_gateway().refund(payment_intent_id, amount, key)


def _refund_to_fund(order_id: int, refunded_before: int, amount: int, key: str) -> str:
    """Give a fund purchase's money back to the club fund, once per step ``key``."""
    target = OrderTarget.find(order_id)
    if target.order.refunded_cents != refunded_before:  # this step ran already (a retried job)
        db.session.rollback()
        return key
    after: AfterCommit = []
    target.refunded(refunded_before + amount, after, key)
    db.session.commit()
    for action in after:
        action()
    return key


@register_target
class OrderTarget(Target):
    kind = "order"
    model = Order

    def __init__(self, order: Order):
        self.order = order

    @property
    def order_id(self) -> int:
        return self.order.id

    @classmethod
    def loading(cls, query):
        return query.options(selectinload(Order.lines))

    @property
    def summary(self) -> dict:
        return {
            "reference": f"order:{self.order.id}",
            "title": f"Order #{self.order.id}",
            "amount_cents": self.order.total_cents,
            "currency": self.order.currency,
            "user_id": self.order.user_id,
            "endpoint": self._page(),
        }

    def _page(self) -> tuple[str, dict]:
        """The order's page: the account's, or a guest's signed link."""
        if self.order.user_id is None:
            from app.orders.guests import guest_order_token

            return ("orders.guest_show", {"token": guest_order_token(self.order)})
        return ("orders.show", {"order_id": self.order.id})

    @property
    def payable(self) -> Order:
        return self.order

    def charges(self) -> Charges:
        """The order's snapshot row by row: its lines, shipping, discount and tax (what checkout asked)."""
        order = self.order
        lines = db.session.scalars(select(OrderLine).where(OrderLine.order_id == order.id).order_by(OrderLine.id))
        shipping = None
        if order.shipping_method or order.shipping_cents:
            name = f"Shipping: {order.shipping_method}" if order.shipping_method else "Shipping"
            shipping = LineItem(name, order.shipping_cents, 1)
        tax = LineItem(f"Tax: {order.tax_label}" if order.tax_label else "Tax", order.tax_cents, 1)
        included = order.prices_include_tax and order.tax_cents > 0
        return Charges(
            line_items=[LineItem(line.title, line.unit_price_cents, line.quantity) for line in lines],
            shipping=shipping,
            tax=tax if order.tax_cents > 0 and not included else None,
            discount_cents=order.discount_cents,
            discount_label=order.discount_code,
            included_tax=tax if included else None,
        )

    def gateway_tax(self, session: dict) -> int:
        """Stripe Tax's amount, for an unpaid order checked out without tax of our own."""
        order = self.order
        if order.paid_at is not None or order.tax_cents:
            return 0
        return automatic_tax_of(session)

    def paid(self, session: dict, after: AfterCommit) -> str:
        order = self.order
        if order.paid_at is not None:
            return "already paid"
        tax = self.gateway_tax(session)
        if tax:  # the tax Stripe added (automatic tax): part of what was paid and what a refund returns
            order.tax_cents = tax
            order.total_cents += tax
            order.tax_label = order.tax_label or "Tax"
        order.paid_at = utcnow()
        after.append(count_after_commit("payment", order.total_cents))  # even if a refund follows
        order.payment_intent_id = session.get("payment_intent")
        order.checkout_session_id = session.get("id") or order.checkout_session_id
        db.session.flush()
        if not take_stock(order):
            order.status = OrderStatus.REFUND_DUE
            _email(
                order,
                "order_out_of_stock",
                f"Order #{order.id}: sold out, refund on its way",
                f"order-out-of-stock:{order.id}",
            )
            after.append(lambda: enqueue(refund_order, order.id))
            return "paid; out of stock, refund due"
        order.status = OrderStatus.PAID
        order.fulfilment_status = FulfilmentStatus.AWAITING_PACKING
        order.stock_taken = True
        from app.orders.shipping import add_event

        add_event(order.id, "paid", amount_cents=order.total_cents)
        order.closed_at = utcnow()
        if order.user_id is not None:  # a guest's cart lives in their browser session
            clear_books_from_cart(order.user_id, [line.book_id for line in order.lines])
        club = None
        if order.club_id is not None:  # bought for a club: the books go on its shelf
            from app.donations.shelf import place_on_shelf

            place_on_shelf(order)
            club = db.session.get(Club, order.club_id)
        _email(
            order,
            "order_receipt",
            f"Your Book Commerce receipt for order #{order.id}",
            f"order-receipt:{order.id}",
            club=club,
        )
        book_ids = [line.book_id for line in order.lines]
        after.append(lambda: invalidate_books(book_ids))
        return OrderStatus.PAID

    def failed(self, session: dict, after: AfterCommit) -> str:
        order = self.order
        if not self.is_open_for(session):
            return "unchanged"
        order.status = OrderStatus.FAILED
        release_discount(order.id)  # the code's use goes back; a new attempt reserves it again
        _email(
            order,
            "order_payment_failed",
            f"Order #{order.id}: the payment did not go through",
            f"order-payment-failed:{order.id}:{order.checkout_attempt}",
        )
        return OrderStatus.FAILED

    def expired(self, session: dict) -> str:
        result = super().expired(session)
        if result == OrderStatus.EXPIRED:
            release_discount(self.order.id)
        return result

    def refunded(self, amount_refunded: int, after: AfterCommit, refund_ref: str) -> str:
        """Record the refund up to the cumulative amount; a fund purchase's step goes back to the fund."""
        order = self.order
        refunded = min(amount_refunded, order.total_cents)
        if refunded <= order.refunded_cents:
            return "refund already recorded"
        step = refunded - order.refunded_cents
        order.refunded_cents = refunded
        if order.gateway == FUND_GATEWAY and order.club_id is not None:
            from app.donations.fund import add_entry, lock_fund
            from app.models import FundEntry

            lock_fund(order.club_id)
            add_entry(
                order.club_id,
                FundEntry.PURCHASE_REFUND,
                step,
                f"Refund of books for the shelf (order #{order.id})",
                order_id=order.id,
                refund_ref=refund_ref,
            )
        if order.refunded_cents >= order.total_cents:
            order.status = OrderStatus.REFUNDED
            order.closed_at = utcnow()
            if order.stock_taken:
                return_stock(order)
                order.stock_taken = False
                book_ids = [line.book_id for line in order.lines]
                after.append(lambda: invalidate_books(book_ids))
        if order.fulfilment_status == FulfilmentStatus.CANCELLED and order.status == OrderStatus.REFUNDED:
            return OrderStatus.REFUNDED  # the cancellation email already said what comes back
        _email(
            order,
            "order_refunded",
            f"Order #{order.id}: refund of {order.refunded_cents / 100:.2f}",
            f"order-refund:{order.id}:{order.refunded_cents}",
            refunded_cents=order.refunded_cents,
        )
        return OrderStatus.REFUNDED
