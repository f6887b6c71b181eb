"""Books for a club's shelf: members' offers and the wishlist. Each view parses input, calls a
service, renders.

Every club page asks ``require(slug, action)`` first: it answers 404 for what a private club
hides and 403 for what the viewer may not do.
"""

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app.clubs.permissions import Standing, require
from app.donations import bp, fund, offers, shelf
from app.donations.forms import OfferForm, WishlistAddForm
from app.forms import ConfirmForm, form_status
from app.htmx import add_toast, is_partial, redirect_after_post, render_page_or_fragment
from app.ids import parse_id
from app.orders import services as order_services
from app.payments.gateway import PaymentsUnavailable
from app.payments.views import payments_unavailable

# ---- Books offered by members ---------------------------------------------------------------


def _offers_context(standing: Standing, q: str = "") -> dict:
    can_moderate = standing.can("moderate")
    return {
        "q": q,
        "picks": offers.catalogue_picks(q),
        "club": standing.club,
        "standing": standing,
        "my_offers": offers.offers_by(current_user, standing.club),
        "pending": offers.pending_offers(standing.club) if can_moderate else [],
        "can_moderate": can_moderate,
    }


@bp.route("/clubs/<slug>/offers", methods=["GET", "POST"], endpoint="offers")
@login_required
def offers_page(slug: str):
    standing = require(slug, "view")
    if not standing.can("offer_book"):
        if standing.is_banned:
            abort(403)
        # Not a member (yet): say how to become one rather than a bare 403.
        return render_template("donations/join_to_offer.html", club=standing.club, standing=standing), 403
    q = request.args.get("q", "").strip()[:100]
    picked = offers.picked_book(parse_id(request.args.get("pick"))) if request.method == "GET" else None
    if picked is not None:  # chosen in the catalogue picker: the form comes filled in
        form = OfferForm(data={"isbn": picked.isbn13, "title": picked.title, "author": picked.authors_text})
    else:
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
        status=form_status(form, error),
        form=form,
        error=error,
        **_offers_context(standing, q),
    )


@bp.route("/clubs/<slug>/offers/books", endpoint="offer_books")
@login_required
def offer_books(slug: str):
    """The offer form's catalogue picker: matching books (htmx), or the offers page with them."""
    standing = require(slug, "offer_book")
    q = request.args.get("q", "").strip()[:100]
    if not is_partial():
        return redirect(url_for("donations.offers", slug=slug, q=q or None))
    return render_template("donations/_book_picks.html", club=standing.club, q=q, picks=offers.catalogue_picks(q))


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
        standing, form_status(form, error), "donations/_wishlist_add_form.html", add_form=form, add_error=error
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


@bp.route("/clubs/<slug>/wishlist/<int:item_id>/buy", methods=["GET", "POST"])
@login_required
def wishlist_buy(slug: str, item_id: int):
    """A reader buys a wanted book for the club, paying by card: first what, for whom and the
    total (GET), then the order and the payment page (POST)."""
    standing = require(slug, "view")
    if not standing.can("donate"):
        abort(403)
    back = url_for("donations.wishlist", slug=slug)
    method_id = parse_id(request.values.get("method_id", ""))
    if request.method == "GET":
        try:
            book = shelf.wishlist_gift(standing.club, current_user, item_id)
            delivery = shelf.club_delivery_for(standing.club, [book], method_id)
        except shelf.ShelfError as exc:
            flash(str(exc), "error")
            return redirect_after_post(back)
        return render_template(
            "donations/gift_confirm.html",
            club=standing.club,
            standing=standing,
            book=book,
            item_id=item_id,
            delivery=delivery,
        )
    if not ConfirmForm().validate_on_submit():
        return redirect_after_post(back)
    try:
        order = shelf.order_wishlist_book(standing.club, current_user, item_id, method_id)
    except shelf.ShelfError as exc:
        flash(str(exc), "error")
        return redirect_after_post(back)
    try:
        return redirect_after_post(order_services.start_checkout(order, current_user))
    except PaymentsUnavailable as exc:
        return payments_unavailable(exc, url_for("orders.show", order_id=order.id))
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
