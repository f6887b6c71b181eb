"""A shop that can ship: zones, methods, a tax rate and a code, and the checkout steps as a reader
goes through them (address, shipping, review, pay) with the test client."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.extensions import db
from app.models import Order
from app.pricing.discounts import create_code
from app.pricing.shipping import add_method, add_zone
from app.pricing.tax import set_rate

US_ADDRESS = {
    "country_code": "US",
    "full_name": "Rosa Reader",
    "line1": "1 Main Street",
    "city": "Springfield",
    "country_area": "IL",
    "postal_code": "62701",
}
FR_ADDRESS = {
    "country_code": "FR",
    "full_name": "Rosa Reader",
    "line1": "10 rue de Rivoli",
    "city": "Paris",
    "postal_code": "75001",
}


def open_shop() -> None:
    """Ships to the US and Canada (Standard free, so totals are the books'; Express $15) and
    France (Colissimo $9, free over $100); French VAT 5.5% on books and shipping; WELCOME10 takes 10%
    off once per customer. Call in an app context."""
    add_zone("Home", ["US", "CA"])
    add_method("Home", "Standard", kind="flat", amount_cents=0, estimate="3-5 working days")
    add_method("Home", "Express", kind="flat", amount_cents=1500, estimate="1-2 working days")
    add_zone("France", ["FR"])
    add_method("France", "Colissimo", kind="free_over", amount_cents=900, free_over_cents=10000, estimate="4-6 days")
    set_rate("FR", "5.5%", "TVA 5.5%", applies_to_shipping=True)
    create_code("WELCOME10", percent=10, max_uses_per_customer=1)


LISBON_ADDRESS = {
    "country_code": "PT",
    "full_name": "Night Owls",
    "line1": "Rua Augusta 1",
    "city": "Lisboa",
    "postal_code": "1100-048",
}


def ships_to_portugal() -> None:
    """A zone for Portugal (free by Standard, $7 Express, no tax), unless one covers it already."""
    from app.models import ShippingZoneCountry

    if db.session.scalar(select(ShippingZoneCountry.id).where(ShippingZoneCountry.country_code == "PT")) is None:
        add_zone("Portugal", ["PT"])
        add_method("Portugal", "Standard", kind="flat", amount_cents=0, estimate="2-4 working days")
        add_method("Portugal", "Express", kind="flat", amount_cents=700, estimate="1 working day")


def ready_to_receive(club) -> None:
    """The club has a delivery address in Lisbon and the shop ships there (free by Standard), so gifts
    and fund purchases cost just the books."""
    from app.addresses.services import set_club_delivery_address

    ships_to_portugal()
    set_club_delivery_address(club, None, LISBON_ADDRESS)


def method_id(name: str) -> int:
    from app.models import ShippingMethod

    return db.session.scalar(select(ShippingMethod.id).where(ShippingMethod.name == name))


def choose_address(client, address: dict | None = None, *, on: dict | None = None, **extra):
    data = {**(address or US_ADDRESS), "address_id": "new", **extra}
    return client.post("/checkout/address", data=data, **(on or {}))


def choose_method(client, name: str | None = None, *, on: dict | None = None):
    if name is None:
        return client.post("/checkout/shipping", data={}, **(on or {}))
    with client.application.app_context():
        chosen = method_id(name)
    return client.post("/checkout/shipping", data={"method_id": chosen}, **(on or {}))


def pay_key(page: bytes) -> str:
    found = re.search(rb'name="idempotency_key"[^>]*value="([^"]+)"', page) or re.search(
        rb'value="([^"]+)"[^>]*name="idempotency_key"', page
    )
    return found.group(1).decode() if found else ""


def pay(client, key: str | None = None, *, on: dict | None = None, **headers):
    """Press Pay on the review page: the response goes to the payment page (or back to a step).
    ``on`` holds the test client's request options (such as ``base_url``)."""
    on = on or {}
    if key is None:
        key = pay_key(client.get("/checkout/review", **on).data)
    return client.post("/checkout/pay", data={"idempotency_key": key}, headers=headers, **on)


def check_out(client, address: dict | None = None, method: str = "Standard", *, on: dict | None = None, **headers):
    """A new address, a method, then Pay (with ``headers``): the Pay response."""
    assert choose_address(client, address, on=on).status_code == 303
    assert choose_method(client, method, on=on).status_code == 303
    return pay(client, on=on, **headers)


def checkout(client, address: dict | None = None, method: str | None = "Standard", code: str | None = None):
    """All the steps: an address, a method, a code if given, Pay. Returns (order id, payment page URL)."""
    assert choose_address(client, address).status_code == 303
    assert choose_method(client, method).status_code == 303
    if code:
        assert client.post("/checkout/review", data={"code": code, "action": "apply"}).status_code == 200
    response = pay(client)
    assert response.status_code == 303, response.data
    url = response.headers["Location"]
    session_id = url.rsplit("/", 1)[-1]
    with client.application.app_context():
        order_id = db.session.scalar(select(Order.id).where(Order.checkout_session_id == session_id))
    return order_id, url
