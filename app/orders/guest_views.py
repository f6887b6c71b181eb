"""A guest's order page and invoice, reached through the signed link in their emails."""

from flask import Response, abort, current_app, flash, redirect, render_template, url_for

from app.extensions import limiter
from app.htmx import is_partial
from app.orders import bp, guests, services
from app.orders.documents import invoice_number, invoice_pdf
from app.orders.shipping import timeline

_limit = limiter.shared_limit(lambda: current_app.config["GUEST_ORDER_LIMIT_PER_IP"], scope="guest-order")


def _guest_order(token: str):
    """The link's order; 404 for a broken link; a claimed order sends its owner to log in."""
    try:
        order = guests.order_for_guest_token(token)
    except guests.GuestLinkClaimed as claimed:
        flash(f"Order #{claimed.order_id} is in your account now: log in to see it.", "info")
        return None, redirect(url_for("accounts.login", next=url_for("orders.show", order_id=claimed.order_id)))
    if order is None:
        abort(404)
    return order, None


@bp.route("/orders/guest/<token>")
@_limit
def guest_show(token: str):
    order, claimed = _guest_order(token)
    if claimed is not None:
        return claimed
    links = {
        "status_url": url_for("orders.guest_show", token=token),
        "invoice_url": url_for("orders.guest_invoice", token=token),
        "pay_url": None,  # paying again as a guest starts from the checkout
    }
    if is_partial():
        return render_template("orders/_status.html", order=order, **links)
    return render_template(
        "orders/guest_show.html", order=order, club=services.gift_club(order), timeline=timeline(order), **links
    )


@bp.route("/orders/guest/<token>/invoice.pdf")
@_limit
def guest_invoice(token: str):
    order, claimed = _guest_order(token)
    if claimed is not None:
        return claimed
    if order.paid_at is None:
        abort(404)
    return Response(
        invoice_pdf(order),
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{invoice_number(order)}.pdf"'},
    )
