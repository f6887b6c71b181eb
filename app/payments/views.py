"""The Stripe webhook, the simulated gateway's payment page, and what a Pay button does."""

import logging
from collections.abc import Callable

from flask import (
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from app.extensions import csrf, limiter
from app.forms import ConfirmForm
from app.htmx import is_partial, redirect_after_post
from app.payments import bp
from app.payments.fulfilment import MalformedEvent, handle_event, target_for_session
from app.payments.gateway import GatewayError, PaymentsUnavailable, WebhookError
from app.payments.simulated import simulated_event

log = logging.getLogger(__name__)

GATEWAY_DOWN = "We could not reach the payment service. Please try again in a minute."


def payments_unavailable(exc: PaymentsUnavailable, resume_url: str | None = None, what: str = "order") -> Response:
    """The 503 page while the gateway's circuit breaker is open: the ``what`` (order, donation)
    is saved and ``resume_url`` is where to pay it once the minute is over."""
    response = make_response(
        render_template(
            "errors/payments_unavailable.html",
            status=503,
            title="Payments are unavailable for a minute",
            detail="Our payment service is not answering right now.",
            resume_url=resume_url,
            what=what,
        ),
        503,
    )
    response.headers["Retry-After"] = str(exc.retry_after)
    if is_partial():  # htmx swaps error answers too: show the page, not a fragment of it
        response.headers.update({"HX-Retarget": "#main", "HX-Reselect": "#main", "HX-Reswap": "outerHTML"})
    return response


def pay_button(start_checkout: Callable[[], str], refused: type[Exception], back: str, what: str = "order") -> Response:
    """An order's or a donation's Pay button: off to the gateway's page (``start_checkout``); a
    refusal (``refused``, the domain's error) or an unreachable gateway is flashed on ``back``;
    while the gateway's breaker is open, the 503 page says the ``what`` waits there."""
    if ConfirmForm().validate_on_submit():
        try:
            return redirect_after_post(start_checkout())
        except refused as exc:
            flash(str(exc), "error")
        except PaymentsUnavailable as exc:
            return payments_unavailable(exc, back, what)
        except GatewayError:
            flash(GATEWAY_DOWN, "error")
    return redirect_after_post(back)


@bp.route("/payments/stripe/webhook", methods=["POST"])
@limiter.shared_limit(lambda: current_app.config["WEBHOOK_LIMIT"], scope="stripe-webhook")
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
    try:
        result = handle_event("stripe", event)
    except MalformedEvent as exc:
        # Signed, so from Stripe (or someone holding the secret), but not the shape Stripe
        # documents: 400, so it shows as failing in Stripe's dashboard and is retried (for up to
        # three days) once our parsing is fixed; nothing was stored.
        log.error("malformed Stripe event %s (%s): %s", event.get("id"), event.get("type"), exc)
        return jsonify(error=f"malformed event: {exc}"), 400
    log.info("Stripe event %s (%s): %s", event.get("id"), event.get("type"), result)
    return jsonify(status=result)


def _simulated_target(session_id: str):
    """The payable behind a simulated session. An account's payable opens only for its owner; a
    guest's order opens for whoever has the session's address (keyed: it cannot be guessed), as a
    Stripe Checkout URL does."""
    if current_app.config.get("STRIPE_SECRET_KEY"):
        abort(404)  # with Stripe configured, there is no simulated page
    target = target_for_session(session_id)
    if target is None:
        abort(404)
    owner = target.summary["user_id"]
    if owner is not None and not current_user.is_authenticated:
        return None
    if owner is not None and owner != current_user.id:
        abort(404)
    return target


@bp.route("/payments/simulated/<session_id>", methods=["GET", "POST"])
def simulated_page(session_id: str):
    target = _simulated_target(session_id)
    if target is None:
        return current_app.login_manager.unauthorized()
    summary, charges = target.summary, target.charges()
    endpoint, args = summary["endpoint"]
    form = ConfirmForm()
    if form.validate_on_submit():
        action = request.form.get("action")
        if action not in ("pay", "decline"):
            abort(400)
        event_type = "checkout.session.completed" if action == "pay" else "checkout.session.async_payment_failed"
        handle_event(
            "simulated",
            simulated_event(
                event_type,
                session_id,
                summary["reference"],
                charges.total_cents,  # what the card is charged: the rows the page listed
                action == "pay",
                currency=summary["currency"],
                charges=charges,
            ),
        )
        return redirect(url_for(endpoint, **args), code=303)
    return render_template(
        "payments/simulated.html",
        summary=summary,
        charges=charges,
        form=form,
        cancel_url=url_for(endpoint, cancelled=1, **args),
    )
