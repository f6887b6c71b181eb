"""The checkout steps' pages: address, shipping, review, pay. Each works without JavaScript (forms
post and redirect); with htmx a step's form swaps the step in place and the URL follows.

The rules are in checkout.py; the choices ride in the signed session (CheckoutState).
"""

from __future__ import annotations

from flask import flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user

from app.addresses.forms import AddressForm
from app.addresses.services import AddressInvalid, AddressNotFound, address_form_rules, address_lines
from app.htmx import is_partial, redirect_after_post, render_page_or_fragment
from app.ids import parse_id
from app.orders import bp
from app.orders import checkout as service
from app.orders.forms import CheckoutForm, DiscountForm, GuestEmailForm
from app.orders.services import GatewayError, OrderError, start_checkout
from app.payments.gateway import PaymentsUnavailable
from app.payments.idempotency import new_key
from app.payments.views import payments_unavailable
from app.pricing.discounts import DiscountRefused
from app.pricing.shipping import NotShippable


def _buyer():
    return current_user if current_user.is_authenticated else None


def _step_url(step: str) -> str:
    return url_for("orders.checkout") if step == "cart" else url_for(f"orders.checkout_{step}")


def _render(step: str, status: int = 200, **context):
    """The step's page, or its fragment (the stepper and the step) for an htmx swap."""
    state = context.pop("state", None) or service.CheckoutState.load()
    done = context.pop("done", None) or service.current_checkout(_buyer(), state)
    form = context.setdefault("form", CheckoutForm())
    if not form.idempotency_key.data:  # a fresh key per rendered Pay form
        form.idempotency_key.data = new_key()
    return render_page_or_fragment(
        f"orders/checkout_{step}.html",
        "orders/_checkout_step.html",
        status=status,
        step=step,
        steps=service.STEPS,
        step_titles=service.STEP_TITLES,
        done=done,
        state=state,
        **context,
    )


def _go(step: str, state: service.CheckoutState):
    """After a step: the next step's page (a redirect, or the step swapped in with its URL pushed)."""
    url = _step_url(step)
    if not is_partial() or step not in ("shipping", "review"):
        return redirect_after_post(url)
    done = service.current_checkout(_buyer(), state)
    if done.step == "cart" or not done.reached(step):
        return redirect_after_post(_step_url(done.step))
    page = _shipping_page if step == "shipping" else _review_page
    response = make_response(page(state, done))
    response.headers["HX-Push-Url"] = url
    return response


def _out_of_order(state: service.CheckoutState, step: str):
    """A step reached too early (a bookmark, the back button after a change): the step to do first."""
    done = service.current_checkout(_buyer(), state)
    if done.step == "cart" or not done.reached(step):
        if done.problem:
            flash(done.problem, "error")
        return done, redirect(_step_url(done.step), code=303)
    return done, None


@bp.route("/checkout")
def checkout():
    """Where checkout starts: the first step not done (or why it cannot start)."""
    user = _buyer()
    state = service.CheckoutState.load()
    done = service.current_checkout(user, state)
    if done.step == "cart" or (user is not None and not user.is_verified):
        return render_template("orders/checkout.html", done=done, form=CheckoutForm())
    return redirect(_step_url(done.step), code=303)


def _address_forms():
    user = _buyer()
    defaults = {}
    if user is None:
        saved = service.CheckoutState.load().address
        defaults = dict(saved or {})
    form = AddressForm(data=defaults) if request.method == "GET" else AddressForm()
    email_form = GuestEmailForm(data={"email": service.CheckoutState.load().email}) if user is None else None
    if request.method == "POST" and email_form is not None:
        email_form = GuestEmailForm()
    return form, email_form


def _rules(form: AddressForm):
    try:
        return address_form_rules(form.country_code.data)
    except ValueError:
        form.country_code.errors = ["Choose a country from the list."]
        form.country_code.data = "US"
        return address_form_rules("US")


@bp.route("/checkout/address", methods=["GET", "POST"])
def checkout_address():
    user = _buyer()
    state = service.CheckoutState.load()
    done = service.current_checkout(user, state)
    if done.step == "cart":
        return redirect(url_for("orders.checkout"), code=303)
    form, email_form = _address_forms()
    addresses = service.saved_addresses(user)
    chosen = state.address_id or next((a.id for a in addresses if a.is_default), None)
    error, status = done.problem, 200
    if request.method == "POST" and form.validate_on_submit() and not form.wants_fields_update:
        choice = request.form.get("address_id", "new")
        try:
            if user is not None and choice != "new":
                service.choose_saved_address(user, state, parse_id(choice) or 0)
            else:
                service.use_new_address(user, state, form.to_data(), email_form.email.data if email_form else "")
        except AddressNotFound:
            error, status = "Choose one of your addresses.", 422
        except AddressInvalid as exc:
            if email_form is not None and "email" in exc.errors:
                email_form.email.errors = [exc.errors.pop("email")]
            form.show_errors(exc)
            error, status, chosen = "Check the address: see the messages below.", 422, "new"
        except NotShippable as exc:
            error, status = str(exc), 422
            if choice == "new" or user is None:
                form.country_code.errors, chosen = [str(exc)], "new"
        else:
            state.save()
            return _go("shipping", state)
    elif request.method == "POST":
        status, chosen = (422 if form.errors else 200), "new"
    return _render(
        "address",
        status,
        state=state,
        done=done,
        address_form=form,
        email_form=email_form,
        rules=_rules(form),
        addresses=addresses,
        address_lines={address.id: address_lines(address) for address in addresses},
        chosen=chosen,
        error=error,
    )


@bp.route("/checkout/shipping", methods=["GET", "POST"])
def checkout_shipping():
    user = _buyer()
    state = service.CheckoutState.load()
    done, elsewhere = _out_of_order(state, "shipping")
    if elsewhere is not None:
        return elsewhere
    error, status = done.problem, 200
    if request.method == "POST" and CheckoutForm().validate_on_submit():
        try:
            service.choose_method(user, state, parse_id(request.form.get("method_id", "")))
        except service.CheckoutError as exc:
            error, status = str(exc), 422
        else:
            state.save()
            return _go("review", state)
    return _shipping_page(state, done, error, status)


def _shipping_page(state, done, error=None, status=200):
    """The options for the address's country with price and estimate; the chosen (or cheapest) checked."""
    chosen = state.method_id if done.option else (done.options[0].method_id if done.options else None)
    return _render("shipping", status, state=state, done=done, chosen=chosen, error=error)


@bp.route("/checkout/review", methods=["GET", "POST"])
def checkout_review():
    """The review, and the discount code's Apply and Remove (htmx swaps the totals)."""
    user = _buyer()
    state = service.CheckoutState.load()
    done, elsewhere = _out_of_order(state, "review")
    if elsewhere is not None:
        return elsewhere
    discount_form, status = DiscountForm(), 200
    if request.method == "POST" and discount_form.validate_on_submit():
        if request.form.get("action") == "remove":
            state.discount_code = ""
            discount_form.code.data = ""
        else:
            try:
                service.apply_discount(user, state, discount_form.code.data)
            except DiscountRefused as exc:
                discount_form.code.errors, status = [str(exc)], 422
        state.save()
        done = service.current_checkout(user, state)
        if is_partial():
            form = CheckoutForm()
            form.idempotency_key.data = new_key()
            context = {"state": state, "done": done, "discount_form": discount_form, "form": form}
            return render_template("orders/_checkout_totals.html", **context), status
    return _review_page(state, done, discount_form, status)


def _review_page(state, done, discount_form=None, status=200):
    """Lines, subtotal, discount, shipping, tax and total, the code field and Pay."""
    discount_form = discount_form or DiscountForm(formdata=None)
    if done.discount_error and state.discount_code and not discount_form.code.errors:
        discount_form.code.data = state.discount_code
        discount_form.code.errors = [done.discount_error]
    return _render("review", status, state=state, done=done, discount_form=discount_form)


@bp.route("/checkout/pay", methods=["POST"])
def checkout_pay():
    """Create the order from what the review shows, then off to the payment page."""
    user = _buyer()
    state = service.CheckoutState.load()
    form = CheckoutForm()
    if not form.validate_on_submit():
        flash("This form is damaged; reload the page.", "error")
        return redirect_after_post(url_for("orders.checkout_review"))
    try:
        order = service.place_order(user, state, form.idempotency_key.data or None)
        back = url_for("orders.show", order_id=order.id) if user is not None else None
        if not order.is_open:  # a resent form whose order is already paid (or closed)
            return redirect_after_post(back or url_for("orders.checkout"))
        url = start_checkout(order, user)
    except service.CheckoutError as exc:
        state.save()
        flash(str(exc), "error")
        return redirect_after_post(_step_url(exc.step))
    except OrderError as exc:
        flash(str(exc), "error")
        return redirect_after_post(url_for("orders.checkout_review"))
    except PaymentsUnavailable as exc:
        return payments_unavailable(exc, back)
    except GatewayError:
        flash("We could not reach the payment service. Your order is saved: try paying again in a minute.", "error")
        return redirect_after_post(back or url_for("orders.checkout_review"))
    return redirect_after_post(url)
