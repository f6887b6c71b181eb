"""Address pages: a reader's address book, a club's delivery address, the country's fields.

The views parse the form, call one service and render; the country's rules live in services.py.
"""

from __future__ import annotations

from flask import abort, flash, render_template, request, url_for
from flask_login import current_user, login_required

from app.addresses import bp, services
from app.addresses.forms import AddressForm
from app.addresses.services import AddressInvalid, AddressNotFound
from app.clubs.permissions import require
from app.forms import ConfirmForm
from app.htmx import redirect_after_post, render_page_or_fragment

FORM_FRAGMENT = "addresses/_address_form.html"


def _rules_of(form: AddressForm):
    try:
        return services.address_form_rules(form.country_code.data)
    except ValueError:
        form.country_code.errors = ["Choose a country from the list."]
        form.country_code.data = "US"
        return services.address_form_rules("US")


def _render(page: str, form: AddressForm, status: int = 200, **context):
    return render_page_or_fragment(page, FORM_FRAGMENT, status=status, form=form, rules=_rules_of(form), **context)


def _own_address(address_id: int):
    try:
        return services.get_address(current_user, address_id)
    except AddressNotFound:
        abort(404)


@bp.route("/addresses/fields")
def fields():
    """The address fields for the country chosen (htmx swaps them in; what was typed stays)."""
    form = AddressForm(request.args, meta={"csrf": False})
    return render_template("addresses/_fields.html", form=form, rules=_rules_of(form))


@bp.route("/account/addresses")
@login_required
def index():
    addresses = services.addresses_for(current_user)
    lines = {address.id: services.address_lines(address) for address in addresses}
    return render_template("addresses/index.html", addresses=addresses, lines=lines, confirm_form=ConfirmForm())


def _address_form(form: AddressForm, action: str, title: str, save):
    """The add and edit pages: ``save(data, make_default)`` on a valid submit, else the form again
    (422 with each country's refusal next to its field, everything typed kept)."""
    if form.validate_on_submit() and not form.wants_fields_update:
        try:
            save(form.to_data(), form.make_default.data)
        except AddressInvalid as exc:
            form.show_errors(exc)
            return _render("addresses/new.html", form, 422, action=action, title=title)
        flash("The address is saved.", "success")
        return redirect_after_post(url_for("addresses.index"))
    status = 422 if form.errors else 200
    return _render("addresses/new.html", form, status, action=action, title=title)


@bp.route("/account/addresses/new", methods=["GET", "POST"])
@login_required
def new():
    def save(data, make_default):
        services.add_address(current_user, data, make_default=make_default)

    return _address_form(AddressForm(), url_for("addresses.new"), "Add an address", save)


@bp.route("/account/addresses/<int:address_id>/edit", methods=["GET", "POST"])
@login_required
def edit(address_id: int):
    address = _own_address(address_id)

    def save(data, make_default):
        services.update_address(current_user, address.id, data, make_default=make_default)

    form = AddressForm(data=AddressForm.data_of(address))
    return _address_form(form, url_for("addresses.edit", address_id=address.id), "Edit the address", save)


@bp.route("/account/addresses/<int:address_id>/delete", methods=["GET", "POST"])
@login_required
def delete(address_id: int):
    address = _own_address(address_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        services.delete_address(current_user, address.id)
        flash("The address is deleted.", "success")
        return redirect_after_post(url_for("addresses.index"))
    return render_template(
        "addresses/delete.html", address=address, lines=services.address_lines(address), confirm_form=form
    )


@bp.route("/account/addresses/<int:address_id>/default", methods=["POST"])
@login_required
def make_default(address_id: int):
    _own_address(address_id)
    if ConfirmForm().validate_on_submit():
        services.set_default_address(current_user, address_id)
        flash("That is your default address now.", "success")
    return redirect_after_post(url_for("addresses.index"))


@bp.route("/clubs/<slug>/delivery-address", methods=["GET", "POST"])
def club_delivery(slug: str):
    """Where books for the club go: the owner and moderators see and change it, nobody else."""
    standing = require(slug, "moderate")
    club = standing.club
    address = services.club_delivery_address(club)
    form = AddressForm(data=AddressForm.data_of(address) if address else services.club_address_defaults(club))
    action = url_for("addresses.club_delivery", slug=club.slug)
    context = {"action": action, "club": club, "address": address, "title": f"Delivery address of {club.name}"}
    if form.validate_on_submit() and not form.wants_fields_update:
        try:
            services.set_club_delivery_address(club, current_user, form.to_data())
        except AddressInvalid as exc:
            form.show_errors(exc)
            return _render("addresses/club_delivery.html", form, 422, **context)
        flash("The club's delivery address is saved.", "success")
        return redirect_after_post(url_for("addresses.club_delivery", slug=club.slug))
    lines = services.address_lines(address) if address else []
    status = 422 if form.errors else 200
    return _render("addresses/club_delivery.html", form, status, lines=lines, **context)
