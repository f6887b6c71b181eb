"""Checkout and order pages."""

from flask import Response, abort, render_template, request, url_for
from flask_login import current_user, login_required

from app.forms import ConfirmForm
from app.htmx import is_partial
from app.orders import bp, services
from app.orders.documents import invoice_number, invoice_pdf
from app.orders.shipping import timeline
from app.payments.views import pay_button


@bp.route("/orders")
@login_required
def list_orders():
    return render_template("orders/list.html", orders=services.orders_for_user(current_user))


@bp.route("/orders/<int:order_id>")
@login_required
def show(order_id: int):
    order = services.order_for_user(order_id, current_user)
    if order is None:
        abort(404)
    if is_partial():
        return render_template("orders/_status.html", order=order, form=ConfirmForm())
    return render_template(
        "orders/show.html",
        order=order,
        form=ConfirmForm(),
        cancelled=request.args.get("cancelled"),
        club=services.gift_club(order),
        timeline=timeline(order),
    )


@bp.route("/orders/<int:order_id>/invoice.pdf")
@login_required
def invoice(order_id: int):
    order = services.order_for_user(order_id, current_user)
    if order is None or order.paid_at is None:
        abort(404)
    return Response(
        invoice_pdf(order),
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{invoice_number(order)}.pdf"'},
    )


@bp.route("/orders/<int:order_id>/pay", methods=["POST"])
@login_required
def pay(order_id: int):
    order = services.order_for_user(order_id, current_user)
    if order is None:
        abort(404)
    return pay_button(
        lambda: services.start_checkout(order, current_user),
        services.OrderError,
        url_for("orders.show", order_id=order.id),
    )
