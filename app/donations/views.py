"""Donation and fund pages (offers and the wishlist: shelf_views.py). Each view parses input, calls a service, renders.

Every club page asks ``require(slug, action)`` first: it answers 404 for what a private club
hides and 403 for what the viewer may not do.
"""

from flask import Response, abort, flash, render_template, request, url_for
from flask_login import current_user, login_required

from app.clubs.permissions import require
from app.donations import bp, fund, services
from app.donations.forms import DonationForm
from app.forms import form_status
from app.htmx import is_partial, redirect_after_post, render_page_or_fragment
from app.payments.gateway import PaymentsUnavailable
from app.payments.idempotency import new_key
from app.payments.views import pay_button, payments_unavailable

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
            except PaymentsUnavailable as exc:
                return payments_unavailable(exc, url_for("donations.show", donation_id=donation.id), "donation")
            except services.GatewayError:
                flash("We could not reach the payment service. Your donation is saved: try paying again soon.", "error")
                return redirect_after_post(url_for("donations.show", donation_id=donation.id))
    if form.idempotency_key.errors:
        error, form.idempotency_key.data = form.idempotency_key.errors[0], new_key()
    return render_page_or_fragment(
        "donations/donate.html",
        "donations/_donate_form.html",
        status=form_status(form, error),
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
    return pay_button(
        lambda: services.start_donation_checkout(donation, current_user),
        services.DonationError,
        url_for("donations.show", donation_id=donation_id),
        "donation",
    )


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
