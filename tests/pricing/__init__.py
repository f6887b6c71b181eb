"""Helpers for the pricing tests: a shop set up as an admin would, from the services the CLI calls."""

from app.extensions import db
from app.models import Order, OrderStatus
from app.pricing import discounts, shipping, tax
from tests.helpers import make_user


def us_and_europe() -> dict[str, int]:
    """Two zones: the US (flat, per item, free over $50) and Europe (flat). Returns method ids by name."""
    shipping.add_zone("United States", ["US"])
    shipping.add_zone("Europe", ["FR", "DE", "GB"])
    made = [
        shipping.add_method("United States", "Standard", kind="flat", amount_cents=499, estimate="3-5 working days"),
        shipping.add_method("United States", "Per book", kind="per_item", amount_cents=200, per_item_cents=100),
        shipping.add_method("United States", "Free over", kind="free_over", amount_cents=599, free_over_cents=5000),
        shipping.add_method("Europe", "Standard", kind="flat", amount_cents=1299, estimate="5-8 working days"),
    ]
    return {f"{m.zone.name}/{m.name}": m.id for m in made}


def place_order(email: str = "buyer@example.com", total_cents: int = 2000) -> tuple[int, int]:
    """A pending order by a new reader: (order id, user id)."""
    user = make_user(email=email, name=email.split("@")[0])
    order = Order(user_id=user.id, total_cents=total_cents, gateway="simulated", status=OrderStatus.PENDING)
    db.session.add(order)
    db.session.commit()
    return order.id, user.id


__all__ = ["discounts", "place_order", "shipping", "tax", "us_and_europe"]
