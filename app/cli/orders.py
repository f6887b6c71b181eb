"""``flask orders``: list, show and refund orders."""

from decimal import Decimal, InvalidOperation

import click
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.cli import CommandGroup
from app.cli.audit import record_admin_action
from app.extensions import db
from app.formatting import money
from app.models import Order, OrderStatus, User
from app.orders.fulfilment import refund_order
from app.payments.gateway import GatewayError

orders = CommandGroup("orders", help="Look at orders and refund them.")


def _order_or_fail(order_id: int) -> Order:
    order = db.session.scalar(select(Order).where(Order.id == order_id).options(selectinload(Order.lines)))
    if order is None:
        raise click.ClickException(f"no order {order_id}")
    return order


@orders.command("list")
@click.option("--status", type=click.Choice(list(OrderStatus.LABELS)), help="Only orders in this state.")
@click.option("--limit", default=50, show_default=True)
def list_orders(status: str | None, limit: int) -> None:
    """The newest orders."""
    query = select(Order, User.email).join(User, User.id == Order.user_id).order_by(Order.id.desc()).limit(limit)
    if status:
        query = query.where(Order.status == status)
    rows = db.session.execute(query).all()
    for order, email in rows:
        click.echo(
            f"#{order.id:<6} {order.created_at:%Y-%m-%d %H:%M}  {order.status:<10} "
            f"{money(order.total_cents, order.currency):>10}  {email}"
        )
    click.echo(f"{len(rows)} order(s).")


@orders.command("show")
@click.argument("order_id", type=int)
def show(order_id: int) -> None:
    """One order with its lines and payment state."""
    order = _order_or_fail(order_id)
    buyer = db.session.get(User, order.user_id)
    click.echo(f"Order #{order.id} · {order.status_label} · {money(order.total_cents, order.currency)}")
    click.echo(f"Buyer: {buyer.email if buyer else '?'} · gateway {order.gateway} · attempt {order.checkout_attempt}")
    click.echo(f"Payment: {order.payment_intent_id or '-'} · refunded {money(order.refunded_cents, order.currency)}")
    for line in order.lines:
        click.echo(f"  {line.quantity} × {line.title} ({line.isbn13}) {money(line.total_cents, order.currency)}")


def _cents(ctx, param, value: str | None) -> int | None:
    if value is None:
        return None
    try:
        cents = Decimal(value) * 100
    except InvalidOperation:
        raise click.BadParameter("give an amount like 5 or 12.50") from None
    if not cents.is_finite() or cents != cents.to_integral_value() or not 0 < cents < 2**31:
        raise click.BadParameter("give a positive amount with at most two decimals") from None
    return int(cents)


@orders.command("refund")
@click.argument("order_id", type=int)
@click.option("--amount", callback=_cents, help="Refund only this much (e.g. 5.00); default: all that is left.")
def refund(order_id: int, amount: int | None) -> None:
    """Refund what was paid for ORDER_ID (the gateway confirms it; a fund purchase goes back to the fund)."""
    order = _order_or_fail(order_id)
    if order.paid_at is None:
        raise click.ClickException(f"order {order_id} was not paid ({order.status_label.lower()})")
    if order.status == OrderStatus.REFUNDED:
        raise click.ClickException(f"order {order_id} is already refunded")
    left = order.total_cents - order.refunded_cents
    if amount is not None and amount > left:
        raise click.ClickException(f"only {money(left, order.currency)} is left to refund on order {order_id}")
    try:
        reference = refund_order(order_id, amount)
    except GatewayError as exc:
        raise click.ClickException(f"the gateway refused the refund: {exc}") from exc
    db.session.expire_all()
    order = _order_or_fail(order_id)
    record_admin_action(
        "orders refund",
        f"order:{order_id}",
        refund=reference,
        amount_cents=left if amount is None else amount,
        status=order.status,
    )
    click.echo(f"Refund {reference} requested for order #{order_id}; status now: {order.status_label}.")
