"""Donation, fund, offer and wishlist pages. Each view parses input, calls a service, renders.

Every club page asks ``require(slug, action)`` first: it answers 404 for what a private club
hides and 403 for what the viewer may not do.
"""

from flask import Response, abort, flash, render_template, request, url_for
from flask_login import current_user, login_required

from app.clubs.permissions import Standing, require
from app.donations import bp, fund, offers, services, shelf
from app.donations.forms import DonationForm, OfferForm, WishlistAddForm
from app.forms import ConfirmForm
from app.htmx import add_toast, is_partial, redirect_after_post, render_page_or_fragment
from app.ids import parse_id
from app.orders import services as order_services
from app.payments.idempotency import new_key

GATEWAY_DOWN = "We could not reach the payment service. Please try again in a minute."


def _status(form, error: str | None) -> int:
    return 422 if (form.errors or error) else 200


# ---- Giving money ---------------------------------------------------------------------------


@bp.route("/clubs/<slug>/donate", methods=["GET", "POST"])
@login_required
def donate(slug: str):
    standing = require(slug, "donate")
    club = standing.club
    form = DonationForm(bounds=services.donation_bounds())
    error = None
    if form.validate_on_submit():
        try:
            donation = services.create_donation(
                club,
                current_user,
                form.amount_cents,
                form.message.data or "",
                form.anonymous.data,
                idempotency_key=form.idempotency_key.data or None,
            )
        except services.DonationError as exc:
            error = str(exc)
            if isinstance(exc, services.KeyReused):
                form.idempotency_key.data = new_key()  # the corrected form is a new submission
        else:
            try:
                return redirect_after_post(services.start_donation_checkout(donation, current_user))
            except services.DonationError:  # a resent form whose donation is paid (or no longer payable)
                return redirect_after_post(url_for("donations.show", donation_id=donation.id))
            except services.GatewayError:
                flash("We could not reach the payment service. Your donation is saved: try paying again soon.", "error")
                return redirect_after_post(url_for("donations.show", donation_id=donation.id))
    if form.idempotency_key.errors:
        error, form.idempotency_key.data = form.idempotency_key.errors[0], new_key()
    return render_page_or_fragment(
        "donations/donate.html",
        "donations/_donate_form.html",
        status=_status(form, error),
        club=club,
        standing=standing,
        form=form,
        error=error,
        raised_cents=fund.donated_total(club.id),
    )


def _own_donation(donation_id: int):
    found = services.donation_for_user(donation_id, current_user)
    if found is None:
        abort(404)
    return found


@bp.route("/donations/<int:donation_id>")
@login_required
def show(donation_id: int):
    donation, club = _own_donation(donation_id)
    template = "donations/_status.html" if is_partial() else "donations/show.html"
    return render_template(template, donation=donation, club=club, cancelled=request.args.get("cancelled"))


@bp.route("/donations/<int:donation_id>/pay", methods=["POST"])
@login_required
def pay(donation_id: int):
    donation, _ = _own_donation(donation_id)
    if ConfirmForm().validate_on_submit():
        try:
            return redirect_after_post(services.start_donation_checkout(donation, current_user))
        except services.DonationError as exc:
            flash(str(exc), "error")
        except services.GatewayError:
            flash(GATEWAY_DOWN, "error")
    return redirect_after_post(url_for("donations.show", donation_id=donation_id))


@bp.route("/account/donations")
@login_required
def account_donations():
    return render_template("donations/account.html", rows=services.donations_by_user(current_user))


@bp.route("/clubs/<slug>/donations")
def club_donations(slug: str):
    standing = require(slug, "view")
    rows = services.donations_to_club(standing.club)
    total = sum(row.donation.amount_cents - row.donation.refunded_cents for row in rows)
    return render_template(
        "donations/club_donations.html", club=standing.club, standing=standing, rows=rows, total_cents=total
    )


# ---- The club fund --------------------------------------------------------------------------


@bp.route("/clubs/<slug>/fund", endpoint="fund")
def fund_page(slug: str):
    standing = require(slug, "manage")
    club = standing.club
    return render_template(
        "donations/fund.html",
        club=club,
        standing=standing,
        balance_cents=fund.fund_balance(club.id),
        entries=fund.ledger(club.id),
    )


@bp.route("/clubs/<slug>/fund.csv")
def fund_csv(slug: str):
    club = require(slug, "manage").club
    return Response(
        fund.ledger_csv(club.id),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{club.slug}-fund.csv"'},
    )


# ---- Books offered by members ---------------------------------------------------------------


def _offers_context(standing: Standing) -> dict:
    can_moderate = standing.can("moderate")
    return {
        "club": standing.club,
        "standing": standing,
        "my_offers": offers.offers_by(current_user, standing.club),
        "pending": offers.pending_offers(standing.club) if can_moderate else [],
        "can_moderate": can_moderate,
    }


@bp.route("/clubs/<slug>/offers", methods=["GET", "POST"], endpoint="offers")
@login_required
def offers_page(slug: str):
    standing = require(slug, "offer_book")
    form = OfferForm()
    error = None
    if form.validate_on_submit():
        try:
            offer = offers.offer_book(standing.club, current_user, **form.offer_fields)
        except offers.OfferError as exc:
            error = str(exc)
        else:
            done = f"Thank you! The club will look at “{offer.title}” soon."
            if not is_partial():
                flash(done, "success")
                return redirect_after_post(url_for("donations.offers", slug=slug))
            response = Response(
                render_template(
                    "donations/_offer_section.html", form=OfferForm(formdata=None), **_offers_context(standing)
                )
            )
            return add_toast(response, done)
    return render_page_or_fragment(
        "donations/offers.html",
        "donations/_offer_section.html",
        status=_status(form, error),
        form=form,
        error=error,
        **_offers_context(standing),
    )


@bp.route("/clubs/<slug>/offers/<int:offer_id>/<any(accept, decline):decision>", methods=["POST"])
@login_required
def decide_offer(slug: str, offer_id: int, decision: str):
    standing = require(slug, "moderate")
    if not ConfirmForm().validate_on_submit():
        abort(400)
    accept = decision == "accept"
    try:
        offer = offers.decide_offer(standing.club, offer_id, accept, current_user)
    except offers.OfferError as exc:
        if not is_partial():
            flash(str(exc), "error")
            return redirect_after_post(url_for("donations.offers", slug=slug))
        html = render_template(
            "donations/_offer_row.html", club=standing.club, offer=None, offer_id=offer_id, error=str(exc)
        )
        return add_toast(Response(html, status=409), str(exc), "error")
    done = f"Accepted “{offer.title}”: it is on the shelf." if accept else f"Declined “{offer.title}”."
    if not is_partial():
        flash(done, "success")
        return redirect_after_post(url_for("donations.offers", slug=slug))
    html = render_template("donations/_offer_row.html", club=standing.club, offer=offer, offer_id=offer.id)
    return add_toast(Response(html), done)


# ---- The wishlist ---------------------------------------------------------------------------


def _wishlist_page(standing: Standing, status: int = 200, fragment: str | None = None, **extra):
    club = standing.club
    can_manage = standing.can("manage")
    context = {
        "club": club,
        "standing": standing,
        "can_manage": can_manage,
        "can_give": standing.can("donate"),
        "balance_cents": fund.fund_balance(club.id) if can_manage else None,
        "add_form": WishlistAddForm(formdata=None),
        "add_error": None,
        "fund_error": None,
        **extra,
    }
    if fragment and is_partial():
        return render_template(fragment, **context), status
    return render_template("donations/wishlist.html", items=shelf.wishlist_of(club), **context), status


@bp.route("/clubs/<slug>/wishlist", methods=["GET"])
def wishlist(slug: str):
    return _wishlist_page(require(slug, "view"))


@bp.route("/clubs/<slug>/wishlist", methods=["POST"])
@login_required
def wishlist_add(slug: str):
    standing = require(slug, "manage")
    form = WishlistAddForm()
    error = None
    if form.validate_on_submit():
        try:
            shelf.add_to_wishlist(standing.club, form.book.id, form.note.data or "")
        except shelf.ShelfError as exc:
            error = str(exc)
        else:
            flash(f"“{form.book.title}” is on the wishlist.", "success")
            return redirect_after_post(url_for("donations.wishlist", slug=slug))
    return _wishlist_page(
        standing, _status(form, error), "donations/_wishlist_add_form.html", add_form=form, add_error=error
    )


@bp.route("/clubs/<slug>/wishlist/<int:item_id>/remove", methods=["POST"])
@login_required
def wishlist_remove(slug: str, item_id: int):
    standing = require(slug, "manage")
    if ConfirmForm().validate_on_submit():
        try:
            shelf.remove_from_wishlist(standing.club, item_id)
        except shelf.ShelfError as exc:
            flash(str(exc), "error")
        else:
            flash("Removed from the wishlist.", "success")
    return redirect_after_post(url_for("donations.wishlist", slug=slug))


@bp.route("/clubs/<slug>/wishlist/<int:item_id>/buy", methods=["POST"])
@login_required
def wishlist_buy(slug: str, item_id: int):
    """A reader buys a wanted book for the club, paying by card."""
    standing = require(slug, "view")
    if not standing.can("donate"):
        abort(403)
    back = url_for("donations.wishlist", slug=slug)
    if not ConfirmForm().validate_on_submit():
        return redirect_after_post(back)
    try:
        order = shelf.order_wishlist_book(standing.club, current_user, item_id)
    except shelf.ShelfError as exc:
        flash(str(exc), "error")
        return redirect_after_post(back)
    try:
        return redirect_after_post(order_services.start_checkout(order, current_user))
    except order_services.GatewayError:
        flash("We could not reach the payment service. Your order is saved: try paying again soon.", "error")
        return redirect_after_post(url_for("orders.show", order_id=order.id))


@bp.route("/clubs/<slug>/wishlist/buy-from-fund", methods=["POST"])
@login_required
def wishlist_buy_from_fund(slug: str):
    standing = require(slug, "manage")
    if not ConfirmForm().validate_on_submit():
        abort(400)
    # 0 names no item: the service answers that it is not on the wishlist.
    item_ids = [parse_id(value) or 0 for value in request.form.getlist("item_id")]
    try:
        order = shelf.buy_from_fund(standing.club, current_user, item_ids)
    except (fund.FundError, shelf.ShelfError) as exc:
        return _wishlist_page(standing, 422, "donations/_fund_box.html", fund_error=str(exc))
    books = len(set(item_ids))
    flash(
        f"Bought {books} book{'s' if books != 1 else ''} from the fund (${order.total_cents / 100:,.2f}): "
        "they are on the shelf.",
        "success",
    )
    return redirect_after_post(url_for("donations.wishlist", slug=slug))
