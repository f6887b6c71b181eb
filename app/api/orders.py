"""One of the reader's orders: lines, amounts, where it ships, its timeline and the invoice link."""

from __future__ import annotations

from flask import g, url_for

from app.api import bp
from app.api.common import not_found, problems, token_required
from app.api.shapes import OrderDetail
from app.orders.services import order_for_user
from app.orders.shipping import timeline

TAGS = ["me"]


@bp.route("/me/orders/<int:order_id>", tags=TAGS)
@token_required
@bp.response(200, OrderDetail)
@problems(404)
@bp.doc(operationId="getMyOrder")
def my_order(order_id: int):
    """One of your orders, with its timeline and invoice"""
    order = order_for_user(order_id, g.api_user)
    if order is None:
        raise not_found("You have no order with this number.")
    lines = sum(line.quantity for line in order.lines)
    invoice = url_for("orders.invoice", order_id=order.id, _external=True) if order.paid_at else None
    return {"order": order, "copies": lines, "timeline": timeline(order), "invoice_url": invoice}
