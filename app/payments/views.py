"""The Stripe webhook and the simulated gateway's payment page."""

import logging

from flask import abort, current_app, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from app.accounts.forms import ConfirmForm
from app.extensions import csrf, db
from app.models import Order
from app.payments import bp
from app.payments.fulfilment import handle_event
from app.payments.gateway import WebhookError
from app.payments.simulated import simulated_event

log = logging.getLogger(__name__)


@bp.route("/payments/stripe/webhook", methods=["POST"])
@csrf.exempt
def stripe_webhook():
    from app.payments.stripe_gateway import StripeGateway

    if not current_app.config.get("STRIPE_SECRET_KEY"):
        abort(404)
    try:
        event = StripeGateway.from_config(current_app.config).parse_webhook(
            request.get_data(), request.headers.get("Stripe-Signature")
        )
    except WebhookError as exc:
        log.warning("rejected Stripe webhook: %s", exc)
        return jsonify(error=str(exc)), 400
    result = handle_event("stripe", event)
    log.info("Stripe event %s (%s): %s", event.get("id"), event.get("type"), result)
    return jsonify(status=result)


def _simulated_order(session_id: str) -> Order:
    if current_app.config.get("STRIPE_SECRET_KEY"):
        abort(404)  # with Stripe configured, there is no simulated page
    order = db.session.scalar(select(Order).where(Order.checkout_session_id == session_id))
    if order is None or order.user_id != current_user.id:
        abort(404)
    return order


@bp.route("/payments/simulated/<session_id>", methods=["GET", "POST"])
@login_required
def simulated_page(session_id: str):
    order = _simulated_order(session_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        action = request.form.get("action")
        if action not in ("pay", "decline"):
            abort(400)
        if action == "pay":
            event = simulated_event(
                "checkout.session.completed", session_id, f"order:{order.id}", order.total_cents, True
            )
        else:
            event = simulated_event(
                "checkout.session.async_payment_failed", session_id, f"order:{order.id}", order.total_cents, False
            )
        handle_event("simulated", event)
        return redirect(url_for("orders.show", order_id=order.id), code=303)
    return render_template("payments/simulated.html", order=order, form=form)
