"""After payment: pack, ship, deliver, cancel and refund lines, each step once, with its timeline event.

Every step moves ``fulfilment_status`` with one conditional UPDATE (``WHERE fulfilment_status IN
...``): of two concurrent or repeated calls only one changes the row, writes the event and
records the buyer's email; the other finds the step done and changes nothing. Money goes back
through the refund job (``app.orders.fulfilment.refund_order``) after the commit.
"""

from __future__ import annotations

import hashlib
from urllib.parse import quote

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.jobs import enqueue
from app.models import FulfilmentStatus, Order, OrderEvent, OrderLine, OrderStatus
from app.models.base import utcnow
from app.orders.fulfilment import _email, refund_order
from app.orders.services import OrderError

S = FulfilmentStatus

# Where a carrier's tracking page is, for a tracking number (used when no URL is given).
CARRIERS: dict[str, str] = {
    "USPS": "https://tools.usps.com/go/TrackConfirmAction?tLabels={}",
    "UPS": "https://www.ups.com/track?tracknum={}",
    "FedEx": "https://www.fedex.com/fedextrack/?trknbr={}",
    "DHL": "https://www.dhl.com/en/express/tracking.html?AWB={}",
    "Royal Mail": "https://www.royalmail.com/track-your-item#/tracking-results/{}",
    "La Poste": "https://www.laposte.fr/outils/suivre-vos-envois?code={}",
}


class FulfilmentError(OrderError):
    """The step cannot happen in the order's state; the message says why."""


def carrier_name(carrier: str) -> str:
    """The carrier as the table spells it ("ups" -> "UPS"), else as given."""
    wanted = carrier.strip().casefold()
    return next((name for name in CARRIERS if name.casefold() == wanted), carrier.strip())


def tracking_url_for(carrier: str, tracking_number: str) -> str | None:
    pattern = CARRIERS.get(carrier_name(carrier))
    return pattern.format(quote(tracking_number, safe="")) if pattern else None


def add_event(order_id: int, kind: str, ref: str = "", **detail) -> bool:
    """Write one timeline step (once: a duplicate finds the unique key and writes nothing)."""
    savepoint = db.session.begin_nested()
    try:
        db.session.add(OrderEvent(order_id=order_id, kind=kind, ref=ref, at=utcnow(), detail=detail))
        db.session.flush()
    except IntegrityError:
        savepoint.rollback()
        return False
    savepoint.commit()
    return True


def timeline(order: Order) -> list[dict]:
    """The order's steps, oldest first: placed (its creation) then every recorded event (one query)."""
    events = db.session.scalars(
        select(OrderEvent).where(OrderEvent.order_id == order.id).order_by(OrderEvent.at, OrderEvent.id)
    ).all()
    steps = [{"kind": "placed", "at": order.created_at, "detail": {}}]
    steps += [{"kind": event.kind, "at": event.at, "detail": event.detail or {}} for event in events]
    return steps


def _load(order_id: int) -> Order:
    order = db.session.scalar(select(Order).where(Order.id == order_id).options(selectinload(Order.lines)))
    if order is None:
        raise FulfilmentError(f"There is no order {order_id}.")
    return order


def _refuse(order: Order, step: str) -> FulfilmentError:
    if order.fulfilment_status == S.AWAITING_PAYMENT:
        return FulfilmentError(f"Order {order.id} is not paid; it cannot be {step}.")
    state = order.fulfilment_label.lower()
    tail = "no longer" if step == "cancelled" or order.fulfilment_status != S.CANCELLED else "not"
    return FulfilmentError(f"Order {order.id} is already {state}; it can {tail} be {step}.")


def _move(order_id: int, allowed: tuple[str, ...], to: str, **values) -> bool:
    """Move the order to ``to`` if it is in one of ``allowed`` (one conditional UPDATE)."""
    result = db.session.execute(
        update(Order)
        .where(Order.id == order_id, Order.fulfilment_status.in_(allowed), Order.status == OrderStatus.PAID)
        .values(fulfilment_status=to, **values)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def _step(order_id: int, allowed: tuple[str, ...], to: str, verb: str, **values) -> tuple[Order, bool]:
    """Do the move or say why not. Returns (order, moved); a repeat of a done step is (order, False)."""
    moved = _move(order_id, allowed, to, **values)
    db.session.expire_all()
    order = _load(order_id)
    if not moved and order.fulfilment_status != to:
        db.session.rollback()
        raise _refuse(order, verb)
    return order, moved


def pack_order(order_id: int, actor: str | None = None) -> bool:
    """Mark a paid order packed. True if this call packed it, False if it was already packed."""
    order, moved = _step(order_id, (S.AWAITING_PACKING,), S.PACKED, "packed")
    if moved:
        add_event(order_id, "packed", by=actor)
    db.session.commit()
    return moved


def ship_order(order_id: int, carrier: str, tracking_number: str, tracking_url: str | None = None) -> bool:
    """Hand a paid order to ``carrier``; the buyer gets one email with the tracking link."""
    carrier, tracking_number = carrier_name(carrier), tracking_number.strip()
    if not carrier or not tracking_number:
        raise FulfilmentError("Give the carrier and the tracking number.")
    url = tracking_url or tracking_url_for(carrier, tracking_number)
    order, moved = _step(
        order_id,
        (S.AWAITING_PACKING, S.PACKED),
        S.SHIPPED,
        "shipped",
        carrier=carrier,
        tracking_number=tracking_number,
        tracking_url=url,
    )
    if moved and add_event(order_id, "shipped", carrier=carrier, tracking_number=tracking_number, tracking_url=url):
        _email(
            order,
            "order_shipped",
            f"Order #{order_id} is on its way",
            f"order-shipped:{order_id}",
        )
    db.session.commit()
    return moved


def deliver_order(order_id: int) -> bool:
    """Mark a shipped order delivered; the buyer gets one email."""
    order, moved = _step(order_id, (S.SHIPPED,), S.DELIVERED, "delivered")
    if moved and add_event(order_id, "delivered"):
        _email(order, "order_delivered", f"Order #{order_id} was delivered", f"order-delivered:{order_id}")
    db.session.commit()
    return moved


def cancel_order(order_id: int, reason: str) -> bool:
    """Cancel a paid order before it ships: all of it is refunded through the gateway (the refund
    job, after this commits) and its stock comes back when the refund is recorded. Once only."""
    reason = (reason or "").strip()
    if not reason:
        raise FulfilmentError("Give the reason for the cancellation.")
    order, moved = _step(order_id, (S.AWAITING_PACKING, S.PACKED), S.CANCELLED, "cancelled")
    amount = order.total_cents - order.refunded_cents
    if moved and add_event(order_id, "cancelled", reason=reason, refund_cents=amount):
        _email(
            order,
            "order_cancelled",
            f"Order #{order_id} was cancelled",
            f"order-cancelled:{order_id}",
            reason=reason,
            refund_cents=amount,
        )
    db.session.commit()
    if moved and amount > 0:
        enqueue(refund_order, order_id)
    return moved


def refund_lines(order_id: int, quantities: dict[int, int]) -> int:
    """Refund some copies of a shipped order: their share of what was paid for the books (discount
    and tax included, shipping not) goes back through the gateway. Returns the amount in cents."""
    order = db.session.scalar(
        select(Order).where(Order.id == order_id).options(selectinload(Order.lines)).with_for_update()
    )
    if order is None:
        raise FulfilmentError(f"There is no order {order_id}.")
    if order.fulfilment_status not in (S.SHIPPED, S.DELIVERED) or order.status != OrderStatus.PAID:
        db.session.rollback()
        if order.fulfilment_status in (S.AWAITING_PACKING, S.PACKED):
            raise FulfilmentError(f"Order {order_id} has not shipped yet; cancel it instead.")
        raise _refuse(order, "refunded by line")
    if not quantities:
        raise FulfilmentError("Name the lines to refund.")
    lines = {line.id: line for line in order.lines}
    for line_id, quantity in quantities.items():
        line = lines.get(line_id)
        if line is None:
            db.session.rollback()
            raise FulfilmentError(f"Order {order_id} has no line {line_id}.")
        left = line.quantity - line.refunded_quantity
        if quantity <= 0 or quantity > left:
            db.session.rollback()
            raise FulfilmentError(
                f"Line {line_id} of order {order_id} has {left} copies left to refund, not {quantity}."
            )
    goods = sum(line.total_cents for line in order.lines)
    paid_for_goods = order.total_cents - order.shipping_cents
    amount = sum(lines[line_id].unit_price_cents * quantity for line_id, quantity in quantities.items())
    if goods > 0:
        amount = amount * paid_for_goods // goods
    amount = min(amount, order.total_cents - order.refunded_cents)
    refunded = []
    for line_id, quantity in sorted(quantities.items()):
        lines[line_id].refunded_quantity += quantity
        refunded.append({"line_id": line_id, "title": lines[line_id].title, "quantity": quantity})
    # Names the lines with their refunded counts after this step: unique per step.
    ref = "lines:" + ",".join(f"{line_id}x{lines[line_id].refunded_quantity}" for line_id in sorted(quantities))
    if len(ref) > 100:  # many lines at once: a digest keeps it unique and within the column
        ref = "lines:" + hashlib.sha256(ref.encode()).hexdigest()
    add_event(order_id, "refunded", ref=ref, amount_cents=amount, lines=refunded)
    db.session.commit()
    if amount > 0:
        enqueue(refund_order, order_id, amount)
    return amount


def packing_queue(status: str = S.AWAITING_PACKING) -> list[Order]:
    """Orders in ``status``, oldest paid first, with their lines (two queries)."""
    return list(
        db.session.scalars(
            select(Order)
            .where(Order.fulfilment_status == status)
            .options(selectinload(Order.lines))
            .order_by(Order.paid_at, Order.id)
        )
    )


def line_refunds(quantities: list[str]) -> dict[int, int]:
    """``["12:1", "13:2"]`` as {12: 1, 13: 2}; FulfilmentError on anything else."""
    parsed: dict[int, int] = {}
    for item in quantities:
        line_id, _, quantity = item.partition(":")
        if not (line_id.isdigit() and quantity.isdigit()):
            raise FulfilmentError(f"Give each line as LINE_ID:QUANTITY, like 12:1 (not {item!r}).")
        parsed[int(line_id)] = parsed.get(int(line_id), 0) + int(quantity)
    return parsed


__all__ = ["CARRIERS", "FulfilmentError", "OrderLine"]
