"""Cart pages and htmx fragments: add, change quantity, remove, the nav count."""

from flask import flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user

from app.accounts.user_cache import cart_count_of
from app.cart import bp, services
from app.cart.forms import AddToCartForm, QuantityForm
from app.extensions import db
from app.htmx import add_toast, is_partial, trigger
from app.ids import parse_id
from app.models import Book
from app.page_cache import register_hole


def _header_cart_count() -> int:
    """The nav's count: a signed-in reader's comes with their cached snapshot (no query)."""
    if current_user.is_authenticated:
        return cart_count_of(current_user.id)
    return services.cart_count()


@bp.app_context_processor
def cart_badge():
    return {"cart_count": _header_cart_count}


# The header's count on a cached page; a visitor answered before Flask has no cart (a session
# holding one is never given a shared page).
register_hole(
    "cart_count",
    lambda: str(_header_cart_count()),
    fast=lambda app, reader: str(reader.cart_count) if reader else "0",
)


@bp.route("/cart")
def view():
    return render_template("cart/cart.html", cart=services.current_cart())


@bp.route("/cart/count")
def count():
    return render_template("cart/_count.html")


@bp.route("/cart/add", methods=["POST"])
def add():
    form = AddToCartForm()
    book_id = parse_id(form.book_id.data)
    book = db.session.get(Book, book_id) if book_id else None
    error = None
    result = None
    if book is None:
        error = "That book is no longer available."
    elif form.validate_on_submit():
        try:
            result = services.add_to_cart(book.id, form.quantity.data)
        except services.CartError as exc:
            error = str(exc)
    else:
        error = " ".join(e for errors in form.errors.values() for e in errors)
    status = 422 if error else 200
    if is_partial() and book is not None:
        response = make_response(render_template("cart/_add_form.html", book=book, added=result, error=error), status)
        if not error:
            trigger(response, "cart-changed")
            if result.added == result.asked:
                add_toast(response, f"Added “{book.title}” to your cart.")
            else:
                add_toast(response, f"“{book.title}”: {result.message}")
        return response
    if error:
        return render_template("cart/cart.html", cart=services.current_cart(), error=error), status
    if result.added != result.asked:
        flash(f"“{book.title}”: {result.message}", "info")
    return redirect(url_for("cart.view"), code=303)


def _cart_response(error: str | None = None):
    status = 422 if error else 200
    cart = services.current_cart()
    if is_partial():
        response = make_response(render_template("cart/_cart.html", cart=cart, error=error), status)
        return trigger(response, "cart-changed") if not error else response
    if error:
        return render_template("cart/cart.html", cart=cart, error=error), status
    return redirect(url_for("cart.view"), code=303)


@bp.route("/cart/items/<int:book_id>", methods=["POST"])
def update(book_id: int):
    form = QuantityForm()
    if not form.validate_on_submit():
        return _cart_response(" ".join(e for errors in form.errors.values() for e in errors))
    try:
        services.set_quantity(book_id, form.quantity.data)
    except services.CartError as exc:
        return _cart_response(str(exc))
    return _cart_response()


@bp.route("/cart/items/<int:book_id>/remove", methods=["POST"])
def remove(book_id: int):
    if request.method == "POST":
        services.remove_from_cart(book_id)
    return _cart_response()
