"""Book clubs: the club, its members, its shelf, its wishlist and the books offered to it."""

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import TimestampMixin, UTCDateTime, utcnow


class Visibility:
    PUBLIC = "public"
    PRIVATE = "private"


class Role:
    OWNER = "owner"
    MODERATOR = "moderator"
    MEMBER = "member"
    RANK = {MEMBER: 1, MODERATOR: 2, OWNER: 3}


class MemberStatus:
    ACTIVE = "active"
    PENDING = "pending"
    BANNED = "banned"


def club_name_key(name: str, city: str) -> str:
    """A club's name in its city, case and outer spaces aside: unique, so two clubs can be told apart."""
    return f"{(name or '').strip().casefold()}|{(city or '').strip().casefold()}"


class Club(TimestampMixin, db.Model):
    __tablename__ = "clubs"
    __table_args__ = (
        CheckConstraint("donation_goal_cents >= 0", name="goal_not_negative"),
        Index("ix_clubs_city", "city"),
        Index("ix_clubs_country", "country"),
        Index("ix_clubs_name", "name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    # club_name_key(name, city), kept by the listener below: the database refuses a second
    # "Paris Readers" in Paris, whatever the case (the same rule on SQLite and PostgreSQL).
    name_key: Mapped[str] = mapped_column(String(250), unique=True, nullable=False)
    slug: Mapped[str] = mapped_column(String(80), unique=True, nullable=False)
    description: Mapped[str] = mapped_column(Text, default="", nullable=False)
    city: Mapped[str] = mapped_column(String(120), nullable=False)
    region: Mapped[str] = mapped_column(String(120), default="", nullable=False)
    country: Mapped[str] = mapped_column(String(80), nullable=False)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    visibility: Mapped[str] = mapped_column(String(8), default=Visibility.PUBLIC, nullable=False)
    donation_goal_cents: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    # What varies per club: join questions, a welcome note, meeting rhythm.
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, nullable=False)
    # Bumped by every fund change: the UPDATE that bumps it is the lock that serialises debits.
    fund_version: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Hidden by an admin (`flask clubs hide`): left out of the directory, in the site and the API;
    # members and anyone with the link still reach the club.
    hidden: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false(), nullable=False)

    @property
    def is_private(self) -> bool:
        return self.visibility == Visibility.PRIVATE

    @property
    def join_questions(self) -> list[str]:
        return list((self.settings or {}).get("join_questions") or [])

    @property
    def place(self) -> str:
        return ", ".join(part for part in (self.city, self.region, self.country) if part)


@event.listens_for(Club, "before_insert")
@event.listens_for(Club, "before_update")
def _keep_name_key(mapper, connection, club: Club) -> None:
    club.name_key = club_name_key(club.name, club.city)


class Membership(db.Model):
    __tablename__ = "memberships"
    __table_args__ = (
        UniqueConstraint("club_id", "user_id", name="uq_memberships_club_user"),
        Index("ix_memberships_club_status", "club_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    club_id: Mapped[int] = mapped_column(ForeignKey("clubs.id", ondelete="CASCADE"), nullable=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    role: Mapped[str] = mapped_column(String(16), default=Role.MEMBER, nullable=False)
    status: Mapped[str] = mapped_column(String(16), default=MemberStatus.ACTIVE, nullable=False)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    # What varies per member: join answers, favourite genres, notes, reading stats.
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, nullable=False)

    @property
    def is_active(self) -> bool:
        return self.status == MemberStatus.ACTIVE


class ShelfBook(db.Model):
    """A book the club owns: given by a member, bought from the fund, or bought for it."""

    __tablename__ = "shelf_books"

    id: Mapped[int] = mapped_column(primary_key=True)
    club_id: Mapped[int] = mapped_column(ForeignKey("clubs.id", ondelete="CASCADE"), nullable=False, index=True)
    book_id: Mapped[int | None] = mapped_column(ForeignKey("books.id"))
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    author: Mapped[str] = mapped_column(String(200), default="", nullable=False)
    isbn13: Mapped[str | None] = mapped_column(String(13))
    condition: Mapped[str] = mapped_column(String(16), default="new", nullable=False)
    source: Mapped[str] = mapped_column(String(16), nullable=False)  # offer, purchase, gift
    given_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    offer_id: Mapped[int | None] = mapped_column(ForeignKey("book_offers.id"), unique=True)
    order_line_id: Mapped[int | None] = mapped_column(ForeignKey("order_lines.id"), unique=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)


class BookOffer(TimestampMixin, db.Model):
    __tablename__ = "book_offers"

    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    CONDITIONS = ("new", "like new", "good", "worn")

    id: Mapped[int] = mapped_column(primary_key=True)
    club_id: Mapped[int] = mapped_column(ForeignKey("clubs.id", ondelete="CASCADE"), nullable=False, index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    book_id: Mapped[int | None] = mapped_column(ForeignKey("books.id"))
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    author: Mapped[str] = mapped_column(String(200), default="", nullable=False)
    isbn13: Mapped[str | None] = mapped_column(String(13))
    condition: Mapped[str] = mapped_column(String(16), nullable=False)
    note: Mapped[str] = mapped_column(String(500), default="", nullable=False)
    status: Mapped[str] = mapped_column(String(16), default=PENDING, nullable=False)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WishlistItem(db.Model):
    __tablename__ = "wishlist_items"
    __table_args__ = (UniqueConstraint("club_id", "book_id", name="uq_wishlist_items_club_book"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    club_id: Mapped[int] = mapped_column(ForeignKey("clubs.id", ondelete="CASCADE"), nullable=False, index=True)
    book_id: Mapped[int] = mapped_column(ForeignKey("books.id"), nullable=False)
    note: Mapped[str] = mapped_column(String(300), default="", nullable=False)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    given_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    given_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
