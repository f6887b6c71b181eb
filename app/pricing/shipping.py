"""Shipping: zones are sets of countries, each with methods priced flat, per item, or free over an amount.

A country belongs to at most one zone (``shipping_zone_countries.country_code`` is unique), so finding
a country's methods is one indexed query. Free-over thresholds compare the merchandise subtotal
*before* any discount, as Shopify does: a code never takes free shipping away.
"""

from dataclasses import dataclass

from sqlalchemy import select

from app.extensions import db
from app.models import ShippingKind, ShippingMethod, ShippingZone, ShippingZoneCountry
from app.pricing import PricingError
from app.pricing.countries import country_code, country_name

Lines = list[tuple[int, int]]  # (unit price in cents, quantity)


class NotShippable(PricingError):
    """No zone covers the country (or the chosen method is not one of its methods)."""


class ShippingSetupError(PricingError):
    """An admin's change to zones or methods that cannot be made."""


@dataclass(frozen=True)
class ShippingOption:
    method_id: int
    name: str
    cents: int
    estimate: str


def merchandise(lines: Lines) -> tuple[int, int]:
    """The lines' subtotal in cents and their number of items."""
    return sum(unit * quantity for unit, quantity in lines), sum(quantity for _, quantity in lines)


def method_price(method: ShippingMethod, subtotal_cents: int, items: int) -> int:
    """What ``method`` charges for ``items`` books worth ``subtotal_cents`` (before discount)."""
    if method.free_over_cents is not None and subtotal_cents >= method.free_over_cents:
        return 0
    if method.kind == ShippingKind.PER_ITEM:
        return method.amount_cents + method.per_item_cents * items
    return method.amount_cents


def shipping_options(country_code: str, lines: Lines) -> list[ShippingOption]:
    """The active methods that ship ``lines`` to ``country``, cheapest first. One query.

    Raises ``NotShippable("We don't ship to Japan yet")`` when no zone covers the country.
    """
    code = (country_code or "").strip().upper()
    rows = db.session.execute(
        select(ShippingZoneCountry.zone_id, ShippingMethod)
        .outerjoin(
            ShippingMethod,
            (ShippingMethod.zone_id == ShippingZoneCountry.zone_id) & ShippingMethod.active.is_(True),
        )
        .where(ShippingZoneCountry.country_code == code)
    ).all()
    methods = [method for _, method in rows if method is not None]
    if not methods:
        raise NotShippable(f"We don't ship to {country_name(code)} yet")
    subtotal, items = merchandise(lines)
    options = [ShippingOption(m.id, m.name, method_price(m, subtotal, items), m.estimate) for m in methods]
    return sorted(options, key=lambda option: (option.cents, option.name, option.method_id))


def choose_option(options: list[ShippingOption], method_id: int, country: str) -> ShippingOption:
    """The option for ``method_id`` among a country's options, or ``NotShippable``."""
    for option in options:
        if option.method_id == method_id:
            return option
    raise NotShippable(f"That shipping method is not available for {country_name(country)}; please choose another")


# ---- Admin (the CLI) ------------------------------------------------------------------------------


def zone_named(name: str) -> ShippingZone:
    zone = db.session.scalar(select(ShippingZone).where(ShippingZone.name == name.strip()))
    if zone is None:
        raise ShippingSetupError(f"no shipping zone named {name.strip()!r}")
    return zone


def add_zone(name: str, countries: list[str]) -> ShippingZone:
    """A new zone covering ``countries`` (ISO codes), none of which may already be in another zone."""
    name = name.strip()
    if not name:
        raise ShippingSetupError("a zone needs a name")
    codes = sorted({country_code(c) for c in countries if c.strip()})
    if not codes:
        raise ShippingSetupError("a zone needs at least one country (--countries FR,DE)")
    if db.session.scalar(select(ShippingZone.id).where(ShippingZone.name == name)) is not None:
        raise ShippingSetupError(f"a shipping zone named {name!r} already exists")
    taken = db.session.execute(
        select(ShippingZoneCountry.country_code, ShippingZone.name)
        .join(ShippingZone, ShippingZone.id == ShippingZoneCountry.zone_id)
        .where(ShippingZoneCountry.country_code.in_(codes))
        .order_by(ShippingZoneCountry.country_code)
    ).all()
    if taken:
        code, zone = taken[0]
        raise ShippingSetupError(f"{country_name(code)} ({code}) is already in the zone {zone!r}")
    zone = ShippingZone(name=name, countries=[ShippingZoneCountry(country_code=c) for c in codes])
    db.session.add(zone)
    db.session.commit()
    return zone


def remove_zone(name: str) -> None:
    """Delete a zone with its countries and methods."""
    db.session.delete(zone_named(name))
    db.session.commit()


def add_method(
    zone_name: str,
    name: str,
    *,
    kind: str,
    amount_cents: int,
    per_item_cents: int = 0,
    free_over_cents: int | None = None,
    estimate: str = "",
) -> ShippingMethod:
    """A new active method in a zone; ``free_over`` needs a threshold, ``per_item`` a per-item price."""
    zone = zone_named(zone_name)
    name = name.strip()
    if not name:
        raise ShippingSetupError("a method needs a name")
    if kind not in set(ShippingKind):
        raise ShippingSetupError(f"kind must be one of {', '.join(ShippingKind)}")
    if kind == ShippingKind.FREE_OVER and free_over_cents is None:
        raise ShippingSetupError("a free_over method needs --free-over (the amount from which it is free)")
    if kind == ShippingKind.PER_ITEM and not per_item_cents:
        raise ShippingSetupError("a per_item method needs --per-item (the price of each book)")
    if kind != ShippingKind.PER_ITEM and per_item_cents:
        raise ShippingSetupError("--per-item is for --kind per_item only")
    if any(m.name == name for m in zone.methods):
        raise ShippingSetupError(f"the zone {zone.name!r} already has a method named {name!r}")
    method = ShippingMethod(
        zone=zone,
        name=name,
        kind=kind,
        amount_cents=amount_cents,
        per_item_cents=per_item_cents,
        free_over_cents=free_over_cents,
        estimate=estimate.strip(),
        active=True,
    )
    db.session.add(method)
    db.session.commit()
    return method


def disable_method(method_id: int) -> ShippingMethod:
    """Stop offering a method (kept, so past quotes still name it)."""
    method = db.session.get(ShippingMethod, method_id)
    if method is None:
        raise ShippingSetupError(f"no shipping method with id {method_id}")
    method.active = False
    db.session.commit()
    return method
