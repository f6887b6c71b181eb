"""All models, one module per domain; importing this package registers them all."""

from app.models.accounts import User
from app.models.addresses import Address
from app.models.api import Device, Notification, RefreshToken, WebSessionTicket
from app.models.audit import AuditEntry
from app.models.catalogue import Author, Book, Genre, SearchWord, book_authors, book_genres
from app.models.clubs import BookOffer, Club, Membership, MemberStatus, Role, ShelfBook, Visibility, WishlistItem
from app.models.contests import (
    Contest,
    ContestEntry,
    ContestFlag,
    ContestKind,
    ContestRun,
    ContestStatus,
    Metric,
    ReadingGoal,
    ReadingLog,
    Scoring,
)
from app.models.donations import Donation, DonationStatus, FundEntry
from app.models.mail import EmailMessage
from app.models.orders import CartItem, FulfilmentStatus, Order, OrderEvent, OrderLine, OrderStatus, PaymentEvent
from app.models.payable import Payable, PaymentStatus
from app.models.pricing import (
    DiscountCode,
    DiscountKind,
    DiscountRedemption,
    ShippingKind,
    ShippingMethod,
    ShippingZone,
    ShippingZoneCountry,
    TaxRate,
)

__all__ = [
    "Address",
    "DiscountCode",
    "DiscountKind",
    "DiscountRedemption",
    "ShippingKind",
    "ShippingMethod",
    "ShippingZone",
    "ShippingZoneCountry",
    "TaxRate",
    "AuditEntry",
    "Device",
    "Notification",
    "RefreshToken",
    "WebSessionTicket",
    "Contest",
    "ContestEntry",
    "ContestFlag",
    "ContestKind",
    "ContestRun",
    "ContestStatus",
    "Metric",
    "ReadingGoal",
    "ReadingLog",
    "Scoring",
    "SearchWord",
    "BookOffer",
    "Club",
    "Donation",
    "DonationStatus",
    "FundEntry",
    "MemberStatus",
    "Membership",
    "Role",
    "ShelfBook",
    "Visibility",
    "WishlistItem",
    "Author",
    "Book",
    "CartItem",
    "EmailMessage",
    "Genre",
    "FulfilmentStatus",
    "Order",
    "OrderEvent",
    "OrderLine",
    "OrderStatus",
    "Payable",
    "PaymentEvent",
    "PaymentStatus",
    "User",
    "book_authors",
    "book_genres",
]
