"""Checkout and order pages."""

from flask import Response, abort, flash, render_template, request, url_for
from flask_login import current_user, login_required

from app.cart.services import current_cart
from app.forms import ConfirmForm
from app.htmx import is_partial, redirect_after_post
from app.orders import bp, services
from app.orders.documents import invoice_number, invoice_pdf
from app.orders.forms import CheckoutForm
from app.orders.shipping import timeline
from app.payments.idempotency import new_key
from app.payments.views import pay_button


@bp.route("/checkout", methods=["GET", "POST"])
@login_required
def checkout():
    form = CheckoutForm()
    error = None
    if form.validate_on_submit():
        try:
            order = services.create_order_from_cart(current_user, form.idempotency_key.data or None)
            if not order.is_open:  # a resent form whose order is already paid (or closed)
                return redirect_after_post(url_for("orders.show", order_id=order.id))
            url = services.start_checkout(order, current_user)
        except services.OrderError as exc:
            error = str(exc)
        except services.GatewayError:
            flash("We could not reach the payment service. Your order is saved: try paying again in a minute.", "error")
            return redirect_after_post(url_for("orders.show", order_id=order.id))
        else:
            return redirect_after_post(url)
    if form.idempotency_key.errors:
        error, form.idempotency_key.data = form.idempotency_key.errors[0], new_key()
    return render_template("orders/checkout.html", cart=current_cart(), form=form, error=error), 422 if error else 200


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
