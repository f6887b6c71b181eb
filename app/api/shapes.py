"""The API's shapes, each declared once: a request shape validates and cleans what the shell sends,
a response shape writes the answer, and both describe themselves in /api/v1/openapi.json.

Response shapes (``Out``) name every property, always present (nullable ones may be null), and
nothing else; request shapes (``In``) ignore properties they do not know, as they always have.
Timestamps are ISO 8601 in UTC (``...Z``); money is integer cents; every URL is absolute.
"""

from __future__ import annotations

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, validate, validates_schema

from app.api.fields import MAX_ID, ConfigRange, Flag, Id, PageUrl, SiteAddress, Text, Timestamp, Whole
from app.catalogue.isbn import InvalidISBN, normalise_isbn
from app.catalogue.queries import SORTS
from app.extensions import db
from app.models import BookOffer as BookOfferRow
from app.models import Club

MAX_PER_PAGE = 100
MAX_PRICE_DOLLARS = 100_000  # as the site's search form allows
ANSWER_MAX = 1000  # as the site's join form allows
MAX_LIMIT = 50
MAX_IDS = 100
PUSH_TOKEN = r"^[!-~]{1,512}$"  # what APNs and FCM hand out: printable ASCII, no spaces
REFRESH_TOKEN = r"^[A-Za-z0-9_-]{43}$"  # secrets.token_urlsafe(32), as tokens.py issues them


class In(Schema):
    class Meta:
        unknown = EXCLUDE


class Out(Schema):
    class Meta:
        unknown = RAISE  # documented as additionalProperties: false


def count(**kwargs) -> fields.Integer:
    return fields.Integer(validate=validate.Range(min=0), **kwargs)


def text(**kwargs) -> fields.String:
    return fields.String(allow_none=kwargs.pop("null", False), **kwargs)


def strings(attribute: str, item: str = "name") -> fields.Function:
    """A list of text, the ``item`` of each object in ``attribute``."""
    return fields.Function(
        lambda obj: [getattr(x, item) for x in getattr(obj, attribute)],
        metadata={"type": "array", "items": {"type": "string"}},
    )


def page_of(item: type[Schema], name: str, **extra: fields.Field) -> type[Schema]:
    """A page of a list, with the headers ``common.page`` adds."""
    return Out.from_dict(
        {
            "items": fields.List(fields.Nested(item)),
            "page": fields.Integer(validate=validate.Range(min=1)),
            "per_page": fields.Integer(validate=validate.Range(min=1)),
            "total": count(),
            "pages": fields.Integer(validate=validate.Range(min=1)),
            **extra,
        },
        name=name,
    )


class Problem(Out):
    """RFC 9457 problem details; ``errors`` names each invalid field."""

    class Meta:
        unknown = RAISE
        openapi_required = ("type", "title", "status", "detail")

    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))


# ---- Paging ---------------------------------------------------------------------------------


class PageArgs(In):
    page = fields.Integer(
        load_default=1,
        validate=validate.Range(min=1, max=MAX_ID, error="Must be a whole number of at least 1."),
        metadata={"description": "The page, from 1 (past the last: the last)."},
    )
    per_page = fields.Integer(
        load_default=20,
        validate=validate.Range(1, MAX_PER_PAGE, error=f"Must be a whole number from 1 to {MAX_PER_PAGE}."),
        metadata={"description": "Items a page (20 unless given)."},
    )


# ---- Signing in -----------------------------------------------------------------------------


class TokenRequest(In):
    email = Text(320, required=True, validate=validate.Regexp(r"^[^@\u0000]+@[^@\u0000]+$"))
    password = Text(1024, required=True, blank=True, validate=validate.Length(min=1))
    device_token = Text(
        4096,
        metadata={"description": "The device_token of an earlier sign-in: a known device has its own guessing budget."},
    )


class RefreshRequest(In):
    refresh_token = fields.String(
        required=True, validate=validate.Regexp(REFRESH_TOKEN, error="Give the refresh token you were given.")
    )


class TokenPair(Out):
    access_token = fields.String()
    token_type = fields.Constant("Bearer")
    expires_in = fields.Integer()
    refresh_token = fields.String()


class SignedIn(TokenPair):
    device_token = fields.String(
        metadata={"description": "From a sign-in: send it with later sign-ins (known device, own guessing budget)."}
    )


class WebSessionRequest(In):
    next = Text(metadata={"description": "A path on the site to open (/ unless given)."})


class WebSession(Out):
    url = fields.String(metadata={"format": "uri"})
    expires_in = fields.Integer()


# ---- Books ----------------------------------------------------------------------------------


def dollars(description: str) -> fields.Decimal:
    return fields.Decimal(
        places=2,
        allow_nan=False,
        validate=validate.Range(
            0, MAX_PRICE_DOLLARS, error=f"Give an amount in dollars from 0 to {MAX_PRICE_DOLLARS}."
        ),
        metadata={"type": "number", "description": description},
    )


class BookQuery(PageArgs):
    q = Text(200, cut=True, metadata={"description": "Words from the title, authors or description, or an ISBN."})
    genre = Text(80, cut=True, metadata={"description": "A genre's slug."})
    min_price = dollars("Lowest price, in dollars (like 12.50).")
    max_price = dollars("Highest price, in dollars.")
    in_stock = Flag(query=True, load_default=False, metadata={"description": "Only books in stock."})
    sort = fields.String(load_default="relevance", validate=validate.OneOf(SORTS), metadata={"description": "Order."})
    exact = Flag(
        query=True,
        load_default=False,
        metadata={"description": "Search for the words exactly as given, without correcting misspellings."},
    )


class Genre(Out):
    slug = fields.String()
    name = fields.String()


class Book(Out):
    id = fields.Integer()
    isbn13 = fields.String()
    title = fields.String()
    slug = fields.String()
    authors = strings("authors")
    price_cents = count()
    currency = fields.Constant("usd")
    in_stock = fields.Boolean()
    stock = count()
    cover_url = text(null=True)
    year = fields.Integer(allow_none=True)
    language = fields.String()
    url = PageUrl("catalogue.book", book_id="id", slug="slug")


class BookDetail(Book):
    description = fields.String()
    genres = fields.List(fields.Nested(Genre))
    publisher = text(null=True)


BookPage = page_of(
    Book,
    "BookPage",
    total_capped=fields.Boolean(
        metadata={
            "description": "A search counts up to a cap: true when more books match than `total` "
            "(the cap) says, as in “1,000+ books”; `pages` then covers the first `total` books."
        }
    ),
    showing_for=text(
        null=True,
        metadata={"description": "The corrected search whose books are listed, because `q` as given found none."},
    ),
    suggestion=text(
        null=True,
        metadata={"description": "A corrected search that finds books too (“Did you mean ...?”), or null."},
    ),
)


# ---- The reader, orders, devices ------------------------------------------------------------


class Reader(Out):
    id = fields.Integer()
    email = fields.String()
    name = fields.String()
    verified = fields.Boolean(attribute="is_verified")
    time_zone = fields.String()
    unread_notifications = count()


class Order(Out):
    id = fields.Integer(attribute="order.id")
    status = fields.String(attribute="order.status")
    status_label = fields.String(attribute="order.status_label")
    total_cents = count(attribute="order.total_cents")
    currency = fields.String(attribute="order.currency")
    copies = count()
    created_at = Timestamp(attribute="order.created_at")
    paid_at = Timestamp(attribute="order.paid_at", allow_none=True)
    url = PageUrl("orders.show", order_id="order.id")
    fulfilment_status = fields.String(
        attribute="order.fulfilment_status",
        metadata={"enum": ["awaiting_payment", "awaiting_packing", "packed", "shipped", "delivered", "cancelled"]},
    )


OrderPage = page_of(Order, "OrderPage")


class OrderLine(Out):
    id = fields.Integer()
    book_id = fields.Integer()
    title = fields.String()
    isbn13 = fields.String()
    unit_price_cents = count()
    quantity = count()
    refunded_quantity = count()
    total_cents = count()


class OrderStep(Out):
    kind = fields.String(metadata={"description": "placed, paid, packed, shipped, delivered, cancelled or refunded."})
    at = Timestamp()
    detail = fields.Dict(
        keys=fields.String(),
        metadata={"description": "shipped: carrier, tracking_number, tracking_url; cancelled: reason, refund_cents."},
    )


class ShipTo(Out):
    """Where the books go, as snapshotted at checkout: ``lines`` is the address as printed on the parcel."""

    name = text(null=True)
    lines = fields.Method("lines_shown", metadata={"type": "array", "items": {"type": "string"}})
    country = text(null=True)
    country_name = text(null=True)

    def lines_shown(self, ship_to: dict) -> list[str]:
        """A club's delivery address stays private: its buyer sees "<club>'s delivery address"."""
        return [ship_to["shown_as"]] if ship_to.get("shown_as") else list(ship_to.get("lines") or [])


class OrderDetail(Order):
    """One of your orders: its lines, amounts, where it ships, its timeline and the invoice."""

    fulfilment_label = fields.String(attribute="order.fulfilment_label")
    lines = fields.List(fields.Nested(OrderLine), attribute="order.lines")
    subtotal_cents = count(attribute="order.lines_cents")
    discount_cents = count(attribute="order.discount_cents")
    discount_code = text(attribute="order.discount_code", null=True)
    shipping_cents = count(attribute="order.shipping_cents")
    shipping_method = text(attribute="order.shipping_method", null=True)
    tax_cents = count(attribute="order.tax_cents")
    tax_label = text(attribute="order.tax_label", null=True)
    tax_rate_bp = fields.Integer(attribute="order.tax_rate_bp", allow_none=True)
    prices_include_tax = fields.Boolean(attribute="order.prices_include_tax")
    refunded_cents = count(attribute="order.refunded_cents")
    ship_to = fields.Nested(ShipTo, attribute="order.ship_to", allow_none=True)
    carrier = text(attribute="order.carrier", null=True)
    tracking_number = text(attribute="order.tracking_number", null=True)
    tracking_url = text(attribute="order.tracking_url", null=True, metadata={"format": "uri"})
    timeline = fields.List(fields.Nested(OrderStep))
    invoice_url = text(null=True, metadata={"format": "uri", "description": "The invoice PDF once paid, else null."})


class DeviceRequest(In):
    platform = fields.String(required=True, validate=validate.OneOf(("ios", "android")))
    push_token = fields.String(
        required=True,
        validate=validate.Regexp(PUSH_TOKEN, error="Give the push token the phone's push service issued."),
    )


class Device(Out):
    id = fields.Integer()
    platform = fields.String(validate=validate.OneOf(("ios", "android")))
    created_at = Timestamp()
    last_seen_at = Timestamp()


# ---- Notifications --------------------------------------------------------------------------


class NotificationQuery(In):
    before = Id(strict=False, metadata={"description": "next_before of the last page."})
    limit = fields.Integer(
        load_default=20,
        validate=validate.Range(1, MAX_LIMIT, error=f"Must be a whole number from 1 to {MAX_LIMIT}."),
        metadata={"description": "How many (20 unless given)."},
    )


class Notification(Out):
    id = fields.Integer()
    kind = fields.String()
    title = fields.String()
    body = fields.String()
    url = SiteAddress()
    created_at = Timestamp()
    read = fields.Function(lambda found: found.read_at is not None, metadata={"type": "boolean"})


class NotificationList(Out):
    items = fields.List(fields.Nested(Notification))
    next_before = fields.Integer(allow_none=True)
    unread = count()


class MarkReadRequest(In):
    class Meta:
        unknown = EXCLUDE
        openapi_extra = {
            "anyOf": [{"required": ["ids"]}, {"required": ["all"], "properties": {"all": {"const": True}}}]
        }

    ids = fields.List(Id(), validate=validate.Length(max=MAX_IDS, error=f"Give at most {MAX_IDS} ids."))
    all = Flag(load_default=False)

    @validates_schema
    def _some(self, data, **kwargs):
        if not data["all"] and "ids" not in data:
            raise ValidationError("Give the ids to mark read, or all: true.", "ids")


class MarkedRead(Out):
    marked = count()
    unread = count()


# ---- Donations (shared by clubs and the reader's list) --------------------------------------


class DonationRequest(In):
    amount_cents = Whole(
        required=True,
        validate=ConfigRange(
            "DONATION_MIN_CENTS", "DONATION_MAX_CENTS", "Give an amount in cents from {low} to {high}."
        ),
    )
    message = Text(500, load_default="")
    anonymous = Flag(load_default=False)


class DonationStarted(Out):
    donation_id = fields.Integer(attribute="donation.id")
    status = fields.String(attribute="donation.status")
    checkout_url = SiteAddress(metadata={"description": "The payment page; null if the gateway is down."})
    url = PageUrl("donations.show", donation_id="donation.id")


class ClubRef(Out):
    slug = fields.String()
    name = fields.String()


class MyDonation(Out):
    id = fields.Integer(attribute="donation.id")
    club = fields.Nested(ClubRef)
    amount_cents = count(attribute="donation.amount_cents")
    currency = fields.String(attribute="donation.currency")
    status = fields.String(attribute="donation.status")
    status_label = fields.String(attribute="donation.status_label")
    anonymous = fields.Boolean(attribute="donation.anonymous")
    message = fields.String(attribute="donation.message")
    created_at = Timestamp(attribute="donation.created_at")
    paid_at = Timestamp(attribute="donation.paid_at", allow_none=True)
    url = PageUrl("donations.show", donation_id="donation.id")


MyDonationPage = page_of(MyDonation, "MyDonationPage")


# Nothing (spaces: no ISBN), 10 digits (the last may be X) or 13 starting 978 or 979, with hyphens or
# spaces between them, as people type them; the check digit is checked on top (a regex cannot).
_SEP = "[ -]*"
ISBN = rf"^(?: *|{_SEP}(?:[0-9]{_SEP}){{9}}[0-9Xx]{_SEP}|{_SEP}9{_SEP}7{_SEP}[89](?:{_SEP}[0-9]){{10}}{_SEP})$"


def isbn_check_digit(value: str) -> None:
    if value.strip():
        try:
            normalise_isbn(value)
        except InvalidISBN as exc:
            raise ValidationError(str(exc)) from None


class OfferRequest(In):
    class Meta:
        unknown = EXCLUDE
        openapi_extra = {"anyOf": [{"required": ["book_id"]}, {"required": ["title", "author"]}]}

    book_id = Id()
    title = Text(300, blank=False)
    author = Text(200, blank=False)
    isbn = Text(
        20,
        load_default="",
        validate=[validate.Regexp(ISBN, error="Give an ISBN-10 or ISBN-13."), isbn_check_digit],
        metadata={"format": "isbn", "description": "ISBN-10 or ISBN-13; a wrong check digit is refused (422)."},
    )
    condition = fields.String(required=True, validate=validate.OneOf(BookOfferRow.CONDITIONS))
    note = Text(500, load_default="")

    @validates_schema
    def _which_book(self, data, **kwargs):
        if "book_id" not in data:
            missing = [name for name in ("title", "author") if name not in data]
            if missing:
                raise ValidationError({name: ["Give some text."] for name in missing})


class BookOffer(Out):
    id = fields.Integer()
    club = fields.Function(lambda offer: db.session.get(Club, offer.club_id).slug, metadata={"type": "string"})
    book_id = fields.Integer(allow_none=True)
    title = fields.String()
    author = fields.String()
    isbn13 = text(null=True)
    condition = fields.String()
    note = fields.String()
    status = fields.String()
    created_at = Timestamp()
