"""The checkout steps: address -> shipping method -> review -> pay.

Nothing is stored server-side before Pay. The choices made so far (``CheckoutState``: an address id,
or a guest's address and email; the shipping method; the discount code) ride in the signed Flask
session, and every step re-reads the cart and re-checks them (the address deleted, a country no
longer served, a method no longer offered, a code used up): an old tab or the back button can never
charge something the review did not show. Pay re-checks once more and snapshots the quote on the order.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

from flask import session
from sqlalchemy import select

from app.addresses.services import (
    AddressInvalid,
    AddressNotFound,
    add_address,
    addresses_for,
    club_delivery_address,
    get_address,
    snapshot,
    validate_address,
)
from app.cart.services import CartLine, current_cart
from app.extensions import db
from app.models import Book, CartItem, Club, Order, User
from app.orders.services import (
    OrderError,
    create_order_from_cart,
    guest_order_from_cart,
    ordered_under,
    reserve_discount,
)
from app.payments.gateway import gateway_computes_tax
from app.pricing.discounts import DiscountRefused
from app.pricing.quote import Quote, quote
from app.pricing.shipping import NotShippable, ShippingOption, shipping_options

SESSION_KEY = "checkout"
STEPS = ("address", "shipping", "review")
STEP_TITLES = {"address": "Address", "shipping": "Shipping", "review": "Review and pay"}

__all__ = ["AddressInvalid", "DiscountRefused", "NotShippable", "OrderError"]


class CheckoutError(ValueError):
    """A step that cannot go ahead; the message is for the shopper, ``step`` is where to fix it."""

    def __init__(self, message: str, step: str):
        super().__init__(message)
        self.step = step


class NoClubAddress(OrderError):
    """Books for a club need the club's delivery address."""


@dataclass
class CheckoutState:
    """The choices made so far, kept in the signed session between steps."""

    address_id: int | None = None
    address: dict | None = None  # a guest's validated address (readers pick from their book)
    email: str = ""  # a guest's email (a reader's is their account's)
    method_id: int | None = None
    discount_code: str = ""

    @classmethod
    def load(cls) -> CheckoutState:
        data = session.get(SESSION_KEY) or {}
        try:
            return cls(
                address_id=int(data["address_id"]) if data.get("address_id") is not None else None,
                address=data.get("address") if isinstance(data.get("address"), dict) else None,
                email=str(data.get("email") or ""),
                method_id=int(data["method_id"]) if data.get("method_id") is not None else None,
                discount_code=str(data.get("discount_code") or ""),
            )
        except (TypeError, ValueError):
            return cls()

    def save(self) -> None:
        session[SESSION_KEY] = asdict(self)


@dataclass
class Checkout:
    """What a step shows, re-checked from the cart and the state: ``step`` is the first step not done
    (``cart`` when there is nothing to buy), ``problem`` why a step done before must be done again."""

    lines: list[CartLine]
    step: str
    address: dict | None = None  # snapshot(address)
    options: list[ShippingOption] = field(default_factory=list)
    quote: Quote | None = None
    problem: str | None = None
    discount_error: str | None = None

    @property
    def option(self) -> ShippingOption | None:
        return self.quote.shipping if self.quote else None

    def reached(self, step: str) -> bool:
        return self.step != "cart" and STEPS.index(step) <= STEPS.index(self.step)


def _unit_lines(lines: list[CartLine]) -> list[tuple[int, int]]:
    return [(line.book.price_cents, line.quantity) for line in lines]


def _email(user: User | None, state: CheckoutState) -> str:
    return user.email if user is not None else state.email


def _chosen_address(user: User | None, state: CheckoutState) -> tuple[dict | None, str | None]:
    """The snapshot of the address chosen, or (None, why it is gone)."""
    if user is None:
        return (snapshot(state.address), None) if state.address else (None, None)
    if state.address_id is None:
        return None, None
    try:
        return snapshot(get_address(user, state.address_id)), None
    except AddressNotFound:
        return None, "That address is no longer in your address book: choose another."


def current_checkout(user: User | None, state: CheckoutState) -> Checkout:
    """The cart priced for the choices in ``state``, each choice re-checked. A fixed number of queries."""
    lines = current_cart().lines
    if not lines:
        return Checkout(lines=lines, step="cart")
    units = _unit_lines(lines)
    address, problem = _chosen_address(user, state)
    if address is None or (user is None and not state.email):
        return Checkout(lines=lines, step="address", problem=problem, quote=quote(units, country_code=None))
    country, region = address["country_code"], address.get("country_area") or None
    try:
        options = shipping_options(country, units)
    except NotShippable as exc:
        return Checkout(lines=lines, step="address", problem=str(exc), quote=quote(units, country_code=None))
    chosen = next((o for o in options if o.method_id == state.method_id), None)
    if chosen is None:
        gone = "That shipping method is no longer offered: choose another." if state.method_id else None
        priced = quote(units, country_code=country, region=region)
        return Checkout(lines=lines, step="shipping", address=address, options=options, quote=priced, problem=gone)
    email, user_id = _email(user, state), user.id if user else None
    discount_error = None
    try:
        priced = quote(
            units,
            country_code=country,
            region=region,
            method_id=chosen.method_id,
            discount_code=state.discount_code or None,
            customer_email=email,
            user_id=user_id,
        )
    except DiscountRefused as exc:
        discount_error = str(exc)
        priced = quote(units, country_code=country, region=region, method_id=chosen.method_id)
    return Checkout(
        lines=lines,
        step="review",
        address=address,
        options=options,
        quote=priced,
        discount_error=discount_error,
    )


# ---- The address step ---------------------------------------------------------------------------


def saved_addresses(user: User | None) -> list:
    return addresses_for(user) if user is not None else []


def _check_shippable(country_code: str) -> None:
    """NotShippable, with its message, when no zone covers the country (lines do not matter here)."""
    shipping_options(country_code, [])


def choose_saved_address(user: User, state: CheckoutState, address_id: int) -> None:
    """Ship to one of the reader's addresses. AddressNotFound, or NotShippable for its country."""
    address = get_address(user, address_id)
    _check_shippable(address.country_code)
    if state.address_id != address.id:
        state.method_id = None
    state.address_id = address.id


def use_new_address(user: User | None, state: CheckoutState, data: dict, email: str = "") -> None:
    """Ship to an address typed at checkout: a reader's is saved to their address book, a guest's
    stays in the session with their email. AddressInvalid (per field) or NotShippable."""
    errors = {}
    if user is None:
        email = (email or "").strip().lower()
        if "@" not in email or "." not in email.rsplit("@", 1)[-1] or len(email) > 320:
            errors["email"] = "Enter the email address we send your receipt to."
    try:
        fields = validate_address(data)
    except AddressInvalid as exc:
        raise AddressInvalid({**errors, **exc.errors}) from None
    if errors:
        raise AddressInvalid(errors)
    _check_shippable(fields["country_code"])
    state.method_id = None
    if user is None:
        state.address, state.email = fields, email
    else:
        state.address_id = add_address(user, fields).id


# ---- Shipping, discount -------------------------------------------------------------------------


def choose_method(user: User | None, state: CheckoutState, method_id: int | None) -> None:
    """Ship by ``method_id``: CheckoutError unless it is one of the options for the address now."""
    done = current_checkout(user, state)
    if done.step in ("cart", "address"):
        raise CheckoutError(done.problem or "Choose an address first.", done.step)
    if method_id not in {option.method_id for option in done.options}:
        raise CheckoutError("Choose one of the shipping methods.", "shipping")
    state.method_id = method_id


def apply_discount(user: User | None, state: CheckoutState, code: str) -> Checkout:
    """Apply ``code`` at review: DiscountRefused (the state unchanged) or the new totals."""
    trial = CheckoutState(**{**asdict(state), "discount_code": (code or "").strip().upper()})
    done = current_checkout(user, trial)
    if done.discount_error:
        raise DiscountRefused(done.discount_error)
    if not trial.discount_code:
        raise DiscountRefused("Enter a code")
    state.discount_code = trial.discount_code
    return done


# ---- Pay ----------------------------------------------------------------------------------------


def charges_of(priced: Quote, address: dict | None) -> dict:
    """The order's snapshot columns for a quote and a delivery address.

    When the gateway computes the tax (Stripe Tax), our tax is left out: the order records Stripe's
    amount when the payment lands (app.orders.fulfilment), so the review's tax is only an estimate.
    """
    if gateway_computes_tax() and not priced.prices_include_tax:
        priced = replace(
            priced, tax_cents=0, tax_rate_bp=0, tax_label="", total_cents=priced.total_cents - priced.tax_cents
        )
    return {
        "ship_to": address,
        "shipping_method": priced.shipping.name if priced.shipping else None,
        "shipping_cents": priced.shipping_cents,
        "tax_cents": priced.tax_cents,
        "tax_rate_bp": priced.tax_rate_bp if priced.tax_label else None,
        "tax_label": priced.tax_label or None,
        "prices_include_tax": priced.prices_include_tax,
        "discount_cents": priced.discount_cents,
        "discount_code": priced.discount.code if priced.discount else None,
        "total_cents": priced.total_cents,
    }


def place_order(user: User | None, state: CheckoutState, idempotency_key: str | None) -> Order:
    """The pending order for what the review shows now: lines, address, shipping, tax, discount and
    total snapshotted; the discount's use counted in the same transaction (once, even if resent).

    CheckoutError sends the shopper back to the step to redo (a code used up meanwhile: review).
    """
    if idempotency_key:  # a resent Pay form: the order the first send made, whatever changed since
        first = ordered_under(user.id if user else None, idempotency_key, state.email or None)
        if first is not None:
            return first
    done = current_checkout(user, state)
    if done.step != "review":
        raise CheckoutError(done.problem or "Please finish the steps before paying.", done.step)
    if done.discount_error:
        raise CheckoutError(done.discount_error, "review")
    charges = charges_of(done.quote, done.address)
    try:
        if user is not None:
            return create_order_from_cart(user, idempotency_key, charges=charges, reserve=reserve_discount)
        items = [(line.book, line.quantity) for line in done.lines]
        return guest_order_from_cart(state.email, items, idempotency_key, charges=charges, reserve=reserve_discount)
    except DiscountRefused as exc:
        state.discount_code = ""
        raise CheckoutError(f"{exc}: it was taken off. Check the total and pay again.", "review") from None


# ---- Books for a club ---------------------------------------------------------------------------


def club_address(club: Club) -> dict:
    """The club's delivery address as an order stores it; NoClubAddress if it has none yet.

    The club's address is never shown to members: the buyer's page, emails and invoice show
    ``shown_as`` ("Ships to Night Owls's delivery address"); staff's packing slips have the lines.
    """
    address = club_delivery_address(club)
    if address is None:
        raise NoClubAddress(f"{club.name} has no delivery address yet; its owner can add one.")
    return {**snapshot(address), "shown_as": f"{club.name}'s delivery address"}


@dataclass
class ClubDelivery:
    address: dict
    options: list[ShippingOption]
    quote: Quote


def club_delivery(club: Club, books: list[Book], method_id: int | None = None, buyer: User | None = None):
    """Shipping and tax for one copy of each of ``books`` sent to the club (the cheapest method unless
    ``method_id`` names another). NoClubAddress, or OrderError when nobody ships to its country."""
    address = club_address(club)
    units = [(book.price_cents, 1) for book in books]
    try:
        options = shipping_options(address["country_code"], units)
    except NotShippable as exc:
        raise OrderError(str(exc)) from None
    chosen = next((o for o in options if o.method_id == method_id), options[0])
    priced = quote(
        units,
        country_code=address["country_code"],
        region=address.get("country_area") or None,
        method_id=chosen.method_id,
        user_id=buyer.id if buyer else None,
    )
    return ClubDelivery(address, options, priced)


# ---- A quote for the shell (the API) ------------------------------------------------------------


@dataclass
class CartQuote:
    address: dict
    options: list[ShippingOption]
    quote: Quote


def quote_cart(
    user: User,
    *,
    address_id: int | None = None,
    address: dict | None = None,
    method_id: int | None = None,
    discount_code: str | None = None,
) -> CartQuote:
    """The reader's cart priced for delivery to one of their addresses (``address_id``) or to an
    address given whole, by ``method_id`` (the cheapest when None), with ``discount_code``.

    Raises OrderError (empty cart), AddressNotFound, AddressInvalid, NotShippable, DiscountRefused.
    """
    rows = db.session.execute(
        select(Book.price_cents, CartItem.quantity)
        .join(Book, Book.id == CartItem.book_id)
        .where(CartItem.user_id == user.id, Book.removed_at.is_(None))
    ).all()
    if not rows:
        raise OrderError("Your cart is empty.")
    units = [(price, quantity) for price, quantity in rows]
    if address_id is not None:
        chosen = snapshot(get_address(user, address_id))
    else:
        chosen = snapshot(validate_address(address or {}))
    country, region = chosen["country_code"], chosen.get("country_area") or None
    options = shipping_options(country, units)
    method = method_id if method_id is not None else options[0].method_id
    priced = quote(
        units,
        country_code=country,
        region=region,
        method_id=method,
        discount_code=discount_code or None,
        customer_email=user.email,
        user_id=user.id,
    )
    return CartQuote(chosen, options, priced)
