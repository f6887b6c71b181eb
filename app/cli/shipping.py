"""``flask shipping``: zones (sets of countries), their methods, and a table of every rate."""

import click
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.cli import CommandGroup, exit_on
from app.cli.audit import record_admin_action
from app.extensions import db
from app.formatting import money
from app.models import ShippingKind, ShippingMethod, ShippingZone
from app.pricing import PricingError
from app.pricing import shipping as services
from app.pricing.money import parse_amount

shipping = CommandGroup("shipping", help="Shipping zones, methods and rates.")
zones = CommandGroup("zones", help="Zones: the countries each set of methods ships to.")
methods = CommandGroup("methods", help="Methods: how a zone's parcels go and what they cost.")
shipping.add_command(zones)
shipping.add_command(methods)


def _zones() -> list[ShippingZone]:
    query = select(ShippingZone).options(selectinload(ShippingZone.countries), selectinload(ShippingZone.methods))
    return list(db.session.scalars(query.order_by(ShippingZone.name)))


def country_list(zone: ShippingZone, shown: int = 12) -> str:
    """The zone's codes, shortened for a zone such as "Rest of world": "AD,AE,...,AI (+190 more)"."""
    codes = sorted(c.country_code for c in zone.countries)
    if len(codes) <= shown:
        return ",".join(codes)
    return f"{','.join(codes[:shown])} (+{len(codes) - shown} more)"


def price_rule(method: ShippingMethod) -> str:
    """ "$4.99", "$2.00 + $1.00/item", "$4.99, free from $50.00"."""
    rule = money(method.amount_cents)
    if method.kind == ShippingKind.PER_ITEM:
        rule += f" + {money(method.per_item_cents)}/item"
    if method.free_over_cents is not None:
        rule += f", free from {money(method.free_over_cents)}"
    return rule


@zones.command("list")
def list_zones() -> None:
    """Zones by name with their countries and number of active methods."""
    found = _zones()
    for zone in found:
        codes = country_list(zone)
        active = sum(1 for m in zone.methods if m.active)
        click.echo(f"{zone.id:>4}  {zone.name:<24} {active} method(s)  {codes}")
    click.echo(f"{len(found)} zone(s).")


@zones.command("add")
@click.argument("name")
@click.option("--countries", required=True, help="ISO codes, comma-separated: FR,DE,IT.")
def add_zone(name: str, countries: str) -> None:
    """Add a zone covering some countries (a country can be in one zone only)."""
    with exit_on(PricingError):
        zone = services.add_zone(name, countries.split(","))
    record_admin_action("shipping zones add", zone.name, countries=[c.country_code for c in zone.countries])
    click.echo(f"Zone {zone.name!r} added with {len(zone.countries)} country(ies).")


@zones.command("remove")
@click.argument("name")
def remove_zone(name: str) -> None:
    """Remove a zone with its countries and methods."""
    with exit_on(PricingError):
        services.remove_zone(name)
    record_admin_action("shipping zones remove", name.strip())
    click.echo(f"Zone {name.strip()!r} removed.")


@methods.command("list")
def list_methods() -> None:
    """Every method: id, zone, name, price rule, estimate, state."""
    count = 0
    for zone in _zones():
        for method in sorted(zone.methods, key=lambda m: m.id):
            count += 1
            state = "active" if method.active else "disabled"
            click.echo(
                f"{method.id:>4}  {zone.name:<24} {method.name:<16} {price_rule(method):<32} "
                f"{method.estimate or '-':<20} {state}"
            )
    click.echo(f"{count} method(s).")


def _cents(value: str | None, what: str) -> int | None:
    if value is None:
        return None
    with exit_on(PricingError):
        return parse_amount(value, what=what)


@methods.command("add")
@click.argument("zone")
@click.argument("name")
@click.option("--kind", type=click.Choice([k.value for k in ShippingKind]), default="flat", show_default=True)
@click.option("--amount", required=True, help="Dollars: the flat price, or the base of a per-item price.")
@click.option("--per-item", help="Dollars added for each book (kind per_item).")
@click.option("--free-over", help="Dollars of books from which this method is free.")
@click.option("--estimate", default="", help='Delivery time shown to shoppers, e.g. "3-5 working days".')
def add_method(
    zone: str, name: str, kind: str, amount: str, per_item: str | None, free_over: str | None, estimate: str
) -> None:
    """Add a method to a zone."""
    amount_cents = _cents(amount, "--amount")
    per_item_cents = _cents(per_item, "--per-item") or 0
    free_over_cents = _cents(free_over, "--free-over")
    with exit_on(PricingError):
        method = services.add_method(
            zone,
            name,
            kind=kind,
            amount_cents=amount_cents,
            per_item_cents=per_item_cents,
            free_over_cents=free_over_cents,
            estimate=estimate,
        )
    record_admin_action("shipping methods add", f"{method.zone.name}/{method.name}", method_id=method.id)
    click.echo(f"Method {method.id} {method.name!r} added to {method.zone.name!r}: {price_rule(method)}.")


@methods.command("disable")
@click.argument("method_id", type=int)
def disable_method(method_id: int) -> None:
    """Stop offering a method."""
    with exit_on(PricingError):
        method = services.disable_method(method_id)
    record_admin_action("shipping methods disable", str(method.id))
    click.echo(f"Method {method.id} {method.name!r} disabled.")


@shipping.command("rates")
def rates() -> None:
    """A table of every zone, its countries and its methods' prices."""
    found = _zones()
    click.echo(f"{'ZONE':<24} {'METHOD':<16} {'PRICE':<38} {'ESTIMATE':<20} COUNTRIES")
    for zone in found:
        codes = country_list(zone)
        active = [m for m in sorted(zone.methods, key=lambda m: m.id) if m.active]
        if not active:
            click.echo(f"{zone.name:<24} {'(none)':<16} {'-':<38} {'-':<20} {codes}")
        for method in active:
            click.echo(
                f"{zone.name:<24} {method.name:<16} {price_rule(method):<38} {method.estimate or '-':<20} {codes}"
            )
    click.echo(f"{len(found)} zone(s).")
