"""What a checkout charges besides the books: shipping zones and methods, tax rates, discount codes.

Money is integer cents; rates are basis points (2000 = 20%). The rules live in ``app/pricing``.
"""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import UTCDateTime, utcnow


class ShippingKind(StrEnum):
    FLAT = "flat"  # amount_cents per order
    PER_ITEM = "per_item"  # amount_cents + per_item_cents for each book
    FREE_OVER = "free_over"  # amount_cents, free from free_over_cents of merchandise


class DiscountKind(StrEnum):
    PERCENT = "percent"  # value: a whole percentage, 1-100
    FIXED = "fixed"  # value: cents off


class ShippingZone(db.Model):
    __tablename__ = "shipping_zones"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)

    countries: Mapped[list["ShippingZoneCountry"]] = relationship(
        back_populates="zone", cascade="all, delete-orphan", passive_deletes=True
    )
    methods: Mapped[list["ShippingMethod"]] = relationship(
        back_populates="zone", cascade="all, delete-orphan", passive_deletes=True
    )


class ShippingZoneCountry(db.Model):
    """A country belongs to at most one zone: the unique country code is the checkout's lookup index."""

    __tablename__ = "shipping_zone_countries"

    id: Mapped[int] = mapped_column(primary_key=True)
    zone_id: Mapped[int] = mapped_column(
        ForeignKey("shipping_zones.id", ondelete="CASCADE"), nullable=False, index=True
    )
    country_code: Mapped[str] = mapped_column(String(2), unique=True, nullable=False)

    zone: Mapped[ShippingZone] = relationship(back_populates="countries")


class ShippingMethod(db.Model):
    __tablename__ = "shipping_methods"
    __table_args__ = (
        UniqueConstraint("zone_id", "name", name="uq_shipping_methods_zone_name"),
        CheckConstraint("amount_cents >= 0 AND per_item_cents >= 0", name="amounts_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    zone_id: Mapped[int] = mapped_column(ForeignKey("shipping_zones.id", ondelete="CASCADE"), nullable=False)
    name: Mapped[str] = mapped_column(String(80), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False, default=ShippingKind.FLAT)
    amount_cents: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    per_item_cents: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    free_over_cents: Mapped[int | None] = mapped_column(Integer)
    estimate: Mapped[str] = mapped_column(String(80), nullable=False, default="")
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)

    zone: Mapped[ShippingZone] = relationship(back_populates="methods")


class TaxRate(db.Model):
    """A country's rate, or a region's (``region`` "" means the whole country); the region's wins."""

    __tablename__ = "tax_rates"
    __table_args__ = (
        UniqueConstraint("country_code", "region", name="uq_tax_rates_country_region"),
        CheckConstraint("rate_bp >= 0 AND rate_bp <= 10000", name="rate_in_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    country_code: Mapped[str] = mapped_column(String(2), nullable=False)
    region: Mapped[str] = mapped_column(String(8), nullable=False, default="")
    rate_bp: Mapped[int] = mapped_column(Integer, nullable=False)
    name: Mapped[str] = mapped_column(String(80), nullable=False)
    applies_to_shipping: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class DiscountCode(db.Model):
    """``code`` is stored upper-case, so codes are unique and matched case-insensitively."""

    __tablename__ = "discount_codes"
    __table_args__ = (
        CheckConstraint("value > 0", name="value_positive"),
        CheckConstraint("uses >= 0", name="uses_not_negative"),
        CheckConstraint("max_uses IS NULL OR uses <= max_uses", name="uses_within_limit"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True, nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    value: Mapped[int] = mapped_column(Integer, nullable=False)
    min_subtotal_cents: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    max_uses: Mapped[int | None] = mapped_column(Integer)
    max_uses_per_customer: Mapped[int | None] = mapped_column(Integer)
    uses: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)


class DiscountRedemption(db.Model):
    """One use of a code by one order: the unique order makes a retried redemption a no-op."""

    __tablename__ = "discount_redemptions"
    __table_args__ = (Index("ix_discount_redemptions_code_email", "code_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code_id: Mapped[int] = mapped_column(ForeignKey("discount_codes.id", ondelete="CASCADE"), nullable=False)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), unique=True, nullable=False)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    email: Mapped[str] = mapped_column(String(255), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
