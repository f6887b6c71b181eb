"""``flask orders``: list, show and refund orders; pack, ship, deliver and cancel them; packing slips."""

from decimal import Decimal, InvalidOperation
from pathlib import Path

import click
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app.cli import CommandGroup, exit_on
from app.cli.audit import record_admin_action
from app.extensions import db
from app.formatting import money
from app.ids import MAX_ID
from app.models import FulfilmentStatus, Order, OrderStatus, User
from app.orders import shipping
from app.orders.documents import packing_slips_pdf
from app.orders.fulfilment import refund_order
from app.orders.shipping import FulfilmentError
from app.payments.gateway import GatewayError

ORDER_ID = click.IntRange(1, MAX_ID)  # larger numbers name no order (and must not reach a query)

orders = CommandGroup("orders", help="Look at orders, pack, ship, deliver, cancel and refund them.")


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
    # Guest orders have no account: their guest email stands for the buyer.
    email = func.coalesce(User.email, Order.guest_email)
    query = select(Order, email).outerjoin(User, User.id == Order.user_id).order_by(Order.id.desc()).limit(limit)
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
    buyer = db.session.get(User, order.user_id) if order.user_id is not None else None
    buyer_email = buyer.email if buyer else f"{order.guest_email} (guest)" if order.guest_email else "?"
    click.echo(f"Order #{order.id} · {order.status_label} · {money(order.total_cents, order.currency)}")
    click.echo(f"Buyer: {buyer_email} · gateway {order.gateway} · attempt {order.checkout_attempt}")
    click.echo(f"Payment: {order.payment_intent_id or '-'} · refunded {money(order.refunded_cents, order.currency)}")
    tracking = f" · {order.carrier} {order.tracking_number}" if order.carrier else ""
    click.echo(f"Fulfilment: {order.fulfilment_label}{tracking}")
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
@click.option("--line", "lines", multiple=True, metavar="LINE_ID:QTY", help="Refund copies of a shipped order.")
def refund(order_id: int, amount: int | None, lines: tuple[str, ...]) -> None:
    """Refund what was paid for ORDER_ID (the gateway confirms it; a fund purchase goes back to the fund).

    With --line, refund those copies of a shipped order: their share of what was paid."""
    if lines:
        if amount is not None:
            raise click.ClickException("give --line or --amount, not both")
        with exit_on(FulfilmentError, GatewayError):
            refunded = shipping.refund_lines(order_id, shipping.line_refunds(list(lines)))
        order = _order_or_fail(order_id)
        record_admin_action("orders refund lines", f"order:{order_id}", lines=list(lines), amount_cents=refunded)
        click.echo(f"Refund of {money(refunded, order.currency)} requested for order #{order_id}.")
        return
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


@orders.command("queue")
@click.option(
    "--status",
    type=click.Choice([status.value for status in FulfilmentStatus]),
    default=FulfilmentStatus.AWAITING_PACKING.value,
    show_default=True,
)
def queue(status: str) -> None:
    """What to pack: oldest paid first, with buyer, copies and the country the books go to."""
    waiting = shipping.packing_queue(status)
    buyer_ids = {order.user_id for order in waiting}
    buyers = {user.id: user.email for user in db.session.scalars(select(User).where(User.id.in_(buyer_ids)))}
    for order in waiting:
        copies = sum(line.quantity for line in order.lines)
        country = (order.ship_to or {}).get("country_name") or (order.ship_to or {}).get("country") or "-"
        when = order.paid_at or order.created_at
        click.echo(
            f"#{order.id:<6} {when:%Y-%m-%d %H:%M}  {buyers.get(order.user_id) or order.guest_email or '?'}  "
            f"{copies} item(s)  {country}"
        )
    click.echo(f"{len(waiting)} order(s) {FulfilmentStatus.LABELS[status].lower()}.")


@orders.command("pack")
@click.argument("order_ids", nargs=-1, type=ORDER_ID, required=True)
def pack(order_ids: tuple[int, ...]) -> None:
    """Mark ORDER_IDS packed."""
    for order_id in order_ids:
        with exit_on(FulfilmentError):
            moved = shipping.pack_order(order_id, actor="cli")
        click.echo(f"Order #{order_id} packed." if moved else f"Order #{order_id} was already packed.")


@orders.command("ship")
@click.argument("order_id", type=ORDER_ID)
@click.option("--carrier", required=True, help=f"One of {', '.join(shipping.CARRIERS)} or another name.")
@click.option("--tracking", required=True, help="The tracking number.")
@click.option("--url", default=None, help="The tracking page (default: built from the carrier's).")
def ship(order_id: int, carrier: str, tracking: str, url: str | None) -> None:
    """Hand ORDER_ID to the carrier; the buyer gets the tracking link by email."""
    if url is not None and not url.startswith(("https://", "http://")):
        raise click.ClickException("--url must start with https:// or http://")
    with exit_on(FulfilmentError):
        moved = shipping.ship_order(order_id, carrier, tracking, url)
    if not moved:
        click.echo(f"Order #{order_id} was already shipped.")
        return
    order = _order_or_fail(order_id)
    record_admin_action("orders ship", f"order:{order_id}", carrier=order.carrier, tracking=order.tracking_number)
    click.echo(f"Order #{order_id} shipped with {order.carrier} ({order.tracking_url or order.tracking_number}).")


@orders.command("deliver")
@click.argument("order_id", type=ORDER_ID)
def deliver(order_id: int) -> None:
    """Mark ORDER_ID delivered."""
    with exit_on(FulfilmentError):
        moved = shipping.deliver_order(order_id)
    click.echo(f"Order #{order_id} delivered." if moved else f"Order #{order_id} was already delivered.")


@orders.command("cancel")
@click.argument("order_id", type=ORDER_ID)
@click.option("--reason", required=True, help="Told to the buyer.")
def cancel(order_id: int, reason: str) -> None:
    """Cancel ORDER_ID before it ships: all of it is refunded and its stock returns."""
    with exit_on(FulfilmentError, GatewayError):
        moved = shipping.cancel_order(order_id, reason)
    if not moved:
        click.echo(f"Order #{order_id} was already cancelled.")
        return
    record_admin_action("orders cancel", f"order:{order_id}", reason=reason)
    order = _order_or_fail(order_id)
    click.echo(f"Order #{order_id} cancelled; refund requested; status now: {order.status_label}.")


@orders.command("slips")
@click.option(
    "--status",
    type=click.Choice([FulfilmentStatus.AWAITING_PACKING.value, FulfilmentStatus.PACKED.value, "paid"]),
    default=FulfilmentStatus.AWAITING_PACKING.value,
    show_default=True,
    help='"paid" means awaiting packing.',
)
@click.option("--out", required=True, type=click.Path(dir_okay=False, writable=True, path_type=Path))
def slips(status: str, out: Path) -> None:
    """Write the packing slips of the orders in STATUS as one PDF, a page per order."""
    if status == "paid":
        status = FulfilmentStatus.AWAITING_PACKING.value
    waiting = shipping.packing_queue(status)
    try:
        out.write_bytes(packing_slips_pdf(waiting))
    except OSError as exc:
        raise click.ClickException(f"cannot write {out}: {exc.strerror}") from exc
    click.echo(f"{len(waiting)} packing slip(s) written to {out}.")
