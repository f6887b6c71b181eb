"""The API's JSON shapes: one function per resource, and the JSON schema of each, registered in
the OpenAPI document's components so the contract and the answers come from the same place.

Timestamps are ISO 8601 in UTC (``...Z``); money is integer cents; ``url`` is the site's page
for the thing, for the shell's webview.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import url_for

from app.api.openapi import COMPONENTS, ref
from app.contests.leaderboard import score_label
from app.contests.scoring import Standing
from app.models import ContestStatus
from app.urls import public_url

# ---- Schema building blocks -----------------------------------------------------------------

INT = {"type": "integer"}
COUNT = {"type": "integer", "minimum": 0}
NUMBER = {"type": "number"}
STRING = {"type": "string"}
BOOL = {"type": "boolean"}
TIME = {"type": "string", "format": "date-time"}
MAX_ID = 2**31 - 1  # ids are 32-bit integers in the database: larger ones cannot exist
ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}


def nullable(schema: dict) -> dict:
    return {**schema, "type": [schema["type"], "null"]}


def shape(properties: dict[str, dict]) -> dict:
    """An object schema where every property is always present (nullable ones may be null)."""
    return {"type": "object", "required": list(properties), "properties": properties, "additionalProperties": False}


def register(name: str, properties: dict[str, dict]) -> dict:
    COMPONENTS["schemas"][name] = shape(properties)
    return ref(name)


def page_of(name: str) -> dict:
    """A page of a list, as ``common.paginated`` answers it."""
    return shape(
        {
            "items": {"type": "array", "items": ref(name)},
            "page": {"type": "integer", "minimum": 1},
            "per_page": {"type": "integer", "minimum": 1},
            "total": COUNT,
            "pages": {"type": "integer", "minimum": 1},
        }
    )


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def site_url(path: str | None) -> str | None:
    """The site's address for a path stored without a host (notification links)."""
    return public_url(path) if path else None


# ---- Books ----------------------------------------------------------------------------------

BOOK = {
    "id": INT,
    "isbn13": STRING,
    "title": STRING,
    "slug": STRING,
    "authors": {"type": "array", "items": STRING},
    "price_cents": COUNT,
    "currency": STRING,
    "in_stock": BOOL,
    "stock": COUNT,
    "cover_url": nullable(STRING),
    "year": nullable(INT),
    "language": STRING,
    "url": STRING,
}
register("Genre", {"slug": STRING, "name": STRING})
register("Book", BOOK)
register(
    "BookDetail",
    {**BOOK, "description": STRING, "genres": {"type": "array", "items": ref("Genre")}, "publisher": nullable(STRING)},
)
COMPONENTS["schemas"]["BookPage"] = page_of("Book")


def book(found) -> dict[str, Any]:
    """A catalogue book as the listing shows it (its authors must be loaded)."""
    return {
        "id": found.id,
        "isbn13": found.isbn13,
        "title": found.title,
        "slug": found.slug,
        "authors": [author.name for author in found.authors],
        "price_cents": found.price_cents,
        "currency": "usd",
        "in_stock": found.in_stock,
        "stock": found.stock,
        "cover_url": found.cover_url,
        "year": found.year,
        "language": found.language,
        "url": url_for("catalogue.book", book_id=found.id, slug=found.slug, _external=True),
    }


def book_detail(found) -> dict[str, Any]:
    """A book with what its page adds: description, genres, publisher (genres must be loaded)."""
    return {
        **book(found),
        "description": found.description,
        "genres": [{"slug": genre.slug, "name": genre.name} for genre in found.genres],
        "publisher": found.publisher,
    }


# ---- Clubs ----------------------------------------------------------------------------------

PLACE = {"slug": STRING, "name": STRING, "place": STRING, "city": STRING, "country": STRING, "visibility": STRING}
register(
    "ClubSummary",
    {**PLACE, "description": nullable(STRING), "members": nullable(COUNT), "distance_km": nullable(NUMBER)},
)
CLUB_PAGE = page_of("ClubSummary")
CLUB_PAGE["properties"].update(
    near={"oneOf": [shape({"latitude": NUMBER, "longitude": NUMBER}), {"type": "null"}]},
    near_error=nullable(STRING),
)
CLUB_PAGE["required"] = list(CLUB_PAGE["properties"])
COMPONENTS["schemas"]["ClubPage"] = CLUB_PAGE
register(
    "ClubActions",
    {"join": BOOL, "leave": BOOL, "donate": BOOL, "offer_book": BOOL},
)
register(
    "Club",
    {
        **PLACE,
        "region": STRING,
        "closed": BOOL,
        "inside": BOOL,
        "description": nullable(STRING),
        "members": nullable(COUNT),
        "donation_goal_cents": nullable(COUNT),
        "donated_cents": nullable(INT),
        "join_questions": {"type": "array", "items": STRING},
        "your_role": nullable(STRING),
        "your_status": nullable(STRING),
        "actions": ref("ClubActions"),
        "url": STRING,
    },
)
register("Membership", {"club": STRING, "role": STRING, "status": {"enum": ["active", "pending"]}})
register(
    "MyClub",
    {
        "slug": STRING,
        "name": STRING,
        "place": STRING,
        "visibility": STRING,
        "closed": BOOL,
        "role": STRING,
        "status": STRING,
        "joined_at": TIME,
        "url": STRING,
    },
)
COMPONENTS["schemas"]["MyClubPage"] = page_of("MyClub")


def _place(club) -> dict[str, Any]:
    return {
        "slug": club.slug,
        "name": club.name,
        "place": club.place,
        "city": club.city,
        "country": club.country,
        "visibility": club.visibility,
    }


def club_summary(row) -> dict[str, Any]:
    """A directory row; a private club shows only who and where it is."""
    club = row.club
    hidden = club.is_private
    return {
        **_place(club),
        "description": None if hidden else club.description,
        "members": None if hidden else row.members,
        "distance_km": None if row.distance_km is None else round(row.distance_km, 1),
    }


def directory_origin(found) -> dict[str, Any]:
    """Where "near" placed the directory, or why it could not (then clubs are listed by name)."""
    origin = {"latitude": found.origin[0], "longitude": found.origin[1]} if found.origin else None
    return {"near": origin, "near_error": found.origin_error}


def club(standing, members: int | None = None, donated_cents: int | None = None) -> dict[str, Any]:
    """A club's page: the inside (``members`` and ``donated_cents`` given) only for those who may see it."""
    found = standing.club
    inside = standing.can("view")
    membership = standing.membership
    return {
        **_place(found),
        "region": found.region,
        "closed": found.closed_at is not None,
        "inside": inside,
        "description": found.description if inside else None,
        "members": members if inside else None,
        "donation_goal_cents": found.donation_goal_cents if inside else None,
        "donated_cents": donated_cents if inside else None,
        # Those who may ask to join must see the questions they are asked.
        "join_questions": found.join_questions if inside or standing.can("join") else [],
        "your_role": membership.role if membership is not None else None,
        "your_status": membership.status if membership is not None else None,
        "actions": {
            "join": standing.can("join"),
            "leave": standing.can("leave") and not standing.is_owner,
            "donate": standing.can("donate") and found.closed_at is None,
            "offer_book": standing.can("offer_book") and found.closed_at is None,
        },
        "url": url_for("clubs.show", slug=found.slug, _external=True),
    }


def membership(found_club, found) -> dict[str, Any]:
    return {"club": found_club.slug, "role": found.role, "status": found.status}


def my_club(found_club, found) -> dict[str, Any]:
    return {
        "slug": found_club.slug,
        "name": found_club.name,
        "place": found_club.place,
        "visibility": found_club.visibility,
        "closed": found_club.closed_at is not None,
        "role": found.role,
        "status": found.status,
        "joined_at": iso(found.joined_at),
        "url": url_for("clubs.show", slug=found_club.slug, _external=True),
    }


# ---- Donations and book offers --------------------------------------------------------------

register(
    "DonationStarted",
    {"donation_id": INT, "status": STRING, "checkout_url": nullable(STRING), "url": STRING},
)
register("ClubRef", {"slug": STRING, "name": STRING})
register(
    "MyDonation",
    {
        "id": INT,
        "club": ref("ClubRef"),
        "amount_cents": COUNT,
        "currency": STRING,
        "status": STRING,
        "status_label": STRING,
        "anonymous": BOOL,
        "message": STRING,
        "created_at": TIME,
        "paid_at": nullable(TIME),
        "url": STRING,
    },
)
COMPONENTS["schemas"]["MyDonationPage"] = page_of("MyDonation")
register(
    "BookOffer",
    {
        "id": INT,
        "club": STRING,
        "book_id": nullable(INT),
        "title": STRING,
        "author": STRING,
        "isbn13": nullable(STRING),
        "condition": STRING,
        "note": STRING,
        "status": STRING,
        "created_at": TIME,
    },
)


def donation_started(donation, checkout_url: str | None) -> dict[str, Any]:
    """A new donation and where to pay it (None when the gateway could not be reached)."""
    return {
        "donation_id": donation.id,
        "status": donation.status,
        "checkout_url": checkout_url,
        "url": url_for("donations.show", donation_id=donation.id, _external=True),
    }


def my_donation(row) -> dict[str, Any]:
    donation = row.donation
    return {
        "id": donation.id,
        "club": {"slug": row.club.slug, "name": row.club.name},
        "amount_cents": donation.amount_cents,
        "currency": donation.currency,
        "status": donation.status,
        "status_label": donation.status_label,
        "anonymous": donation.anonymous,
        "message": donation.message,
        "created_at": iso(donation.created_at),
        "paid_at": iso(donation.paid_at),
        "url": url_for("donations.show", donation_id=donation.id, _external=True),
    }


def book_offer(found_club, offer) -> dict[str, Any]:
    return {
        "id": offer.id,
        "club": found_club.slug,
        "book_id": offer.book_id,
        "title": offer.title,
        "author": offer.author,
        "isbn13": offer.isbn13,
        "condition": offer.condition,
        "note": offer.note,
        "status": offer.status,
        "created_at": iso(offer.created_at),
    }


# ---- The reader, orders, devices ------------------------------------------------------------

register(
    "Reader",
    {
        "id": INT,
        "email": STRING,
        "name": STRING,
        "verified": BOOL,
        "time_zone": STRING,
        "unread_notifications": COUNT,
    },
)
register(
    "Order",
    {
        "id": INT,
        "status": STRING,
        "status_label": STRING,
        "total_cents": COUNT,
        "currency": STRING,
        "copies": COUNT,
        "created_at": TIME,
        "paid_at": nullable(TIME),
        "url": STRING,
    },
)
COMPONENTS["schemas"]["OrderPage"] = page_of("Order")
register(
    "Device",
    {"id": INT, "platform": {"enum": ["ios", "android"]}, "created_at": TIME, "last_seen_at": TIME},
)


def reader(user, unread: int) -> dict[str, Any]:
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "verified": user.is_verified,
        "time_zone": user.time_zone,
        "unread_notifications": unread,
    }


def order(found, copies: int) -> dict[str, Any]:
    return {
        "id": found.id,
        "status": found.status,
        "status_label": found.status_label,
        "total_cents": found.total_cents,
        "currency": found.currency,
        "copies": copies,
        "created_at": iso(found.created_at),
        "paid_at": iso(found.paid_at),
        "url": url_for("orders.show", order_id=found.id, _external=True),
    }


def device(found) -> dict[str, Any]:
    return {
        "id": found.id,
        "platform": found.platform,
        "created_at": iso(found.created_at),
        "last_seen_at": iso(found.last_seen_at),
    }


# ---- Contests -------------------------------------------------------------------------------

CONTEST = {
    "id": INT,
    "title": STRING,
    "kind": STRING,
    "metric": STRING,
    "scoring": STRING,
    "status": STRING,
    "status_label": STRING,
    "phase": {"enum": ["running", "upcoming", "results", "cancelled"]},
    "starts_at": TIME,
    "ends_at": TIME,
    "prize": STRING,
    "url": STRING,
}
register("ContestSummary", {**CONTEST, "entrants": COUNT})
COMPONENTS["schemas"]["ContestPage"] = page_of("ContestSummary")
STANDING = {"entrant_id": INT, "name": STRING, "score": NUMBER, "score_label": STRING, "total": INT}
register("Winner", STANDING)
register(
    "Contest",
    {
        **CONTEST,
        "entrants": COUNT,
        "description": STRING,
        "formula": STRING,
        "tie_break": STRING,
        "member_floor": COUNT,
        "entries_open": BOOL,
        "provisional_until": nullable(TIME),
        "winner": {"oneOf": [ref("Winner"), {"type": "null"}]},
    },
)
register(
    "LeaderboardRow",
    {
        **STANDING,
        "rank": {"type": "integer", "minimum": 1},
        "change": INT,
        "members": COUNT,
        "participants": COUNT,
        "participation": NUMBER,
        "reached_at": nullable(STRING),
    },
)
register(
    "Leaderboard",
    {"contest_id": INT, "status": STRING, "final": BOOL, "rows": {"type": "array", "items": ref("LeaderboardRow")}},
)
register(
    "ContestEntry",
    {"contest_id": INT, "club": nullable(STRING), "entered_at": TIME},
)


def phase(contest) -> str:
    """Where the contest is, as the site's contest list groups them."""
    if contest.status in (ContestStatus.SCORING, ContestStatus.FINISHED):
        return "results"
    if contest.status == ContestStatus.CANCELLED:
        return "cancelled"
    if contest.status == ContestStatus.DRAFT or contest.starts_at > datetime.now(UTC):
        return "upcoming"
    return "running"


def _contest(contest, entrants: int) -> dict[str, Any]:
    return {
        "id": contest.id,
        "title": contest.title,
        "kind": contest.kind,
        "metric": contest.metric,
        "scoring": contest.scoring,
        "status": contest.status,
        "status_label": contest.status_label,
        "phase": phase(contest),
        "starts_at": iso(contest.starts_at),
        "ends_at": iso(contest.ends_at),
        "prize": contest.prize,
        "url": url_for("contests.show", contest_id=contest.id, _external=True),
        "entrants": entrants,
    }


def contest_summary(card) -> dict[str, Any]:
    return _contest(card.contest, card.entrants)


def _standing(contest, values) -> dict[str, Any]:
    """An entrant's place, from a Standing or the dict a scored contest stores."""
    standing = values if isinstance(values, Standing) else Standing(**values)
    return {
        "entrant_id": standing.entrant_id,
        "name": standing.name,
        "score": standing.score,
        "score_label": score_label(contest, standing),
        "total": standing.total,
    }


def contest(found, *, entrants: int, formula: str, tie_break: str, entries_open: bool) -> dict[str, Any]:
    """A contest's page: its rules in words, its window (UTC) and, once finished, its winner."""
    winner = (found.standings or {}).get("winner") if found.status == ContestStatus.FINISHED else None
    return {
        **_contest(found, entrants),
        "description": found.description,
        "formula": formula,
        "tie_break": tie_break,
        "member_floor": found.member_floor,
        "entries_open": entries_open,
        "provisional_until": iso(found.provisional_until),
        "winner": _standing(found, winner) if winner else None,
    }


def leaderboard(found, rows) -> dict[str, Any]:
    """Live standings, or the final ones once the contest is scored."""
    return {
        "contest_id": found.id,
        "status": found.status,
        "final": found.status in (ContestStatus.SCORING, ContestStatus.FINISHED) and bool(found.standings),
        "rows": [
            {
                **_standing(found, row.standing),
                "rank": row.standing.rank,
                "change": row.change,
                "members": row.standing.members,
                "participants": row.standing.participants,
                "participation": row.standing.participation,
                "reached_at": row.standing.reached_at,
            }
            for row in rows
        ],
    }


def contest_entry(entry, club_slug: str | None) -> dict[str, Any]:
    return {"contest_id": entry.contest_id, "club": club_slug, "entered_at": iso(entry.entered_at)}


# ---- Notifications --------------------------------------------------------------------------

register(
    "Notification",
    {
        "id": INT,
        "kind": STRING,
        "title": STRING,
        "body": STRING,
        "url": nullable(STRING),
        "created_at": TIME,
        "read": BOOL,
    },
)
register(
    "NotificationList",
    {"items": {"type": "array", "items": ref("Notification")}, "next_before": nullable(INT), "unread": COUNT},
)
register("MarkedRead", {"marked": COUNT, "unread": COUNT})


def notification(found) -> dict[str, Any]:
    return {
        "id": found.id,
        "kind": found.kind,
        "title": found.title,
        "body": found.body,
        "url": site_url(found.url),
        "created_at": iso(found.created_at),
        "read": found.read_at is not None,
    }
