"""The shapes of clubs and contests (see shapes.py for how shapes work)."""

from __future__ import annotations

from datetime import UTC, datetime

from marshmallow import fields, validate

from app.api.fields import Slug, Text, Timestamp
from app.api.shapes import ANSWER_MAX, In, Out, PageArgs, count, page_of, text
from app.contests.leaderboard import score_label
from app.contests.scoring import Standing as Place
from app.models import ContestStatus

# ---- Clubs ----------------------------------------------------------------------------------


class ClubQuery(PageArgs):
    q = Text(200, cut=True, metadata={"description": "Words from a club's name, city, region or country."})
    city = Text(120, cut=True, metadata={"description": "Only clubs in this city."})
    country = Text(80, cut=True, metadata={"description": "Only clubs in this country."})
    near = Text(
        100,
        cut=True,
        metadata={
            "description": "A city some club is in, or “latitude,longitude”: nearest first. An unknown place "
            "lists clubs by name and says why in near_error."
        },
    )


class ClubPlace(Out):
    slug = fields.String(attribute="club.slug")
    name = fields.String(attribute="club.name")
    place = fields.String(attribute="club.place")
    city = fields.String(attribute="club.city")
    country = fields.String(attribute="club.country")
    visibility = fields.String(attribute="club.visibility")


def _inside(name: str, **kwargs):
    """What only those who may see a club's inside are shown (null for others)."""
    return fields.Function(
        lambda row: getattr(row, name) if row.inside else None, metadata={"type": ["integer", "null"]}, **kwargs
    )


class ClubSummary(ClubPlace):
    """A directory row; a private club shows only who and where it is."""

    description = fields.Function(
        lambda row: None if row.club.is_private else row.club.description, metadata={"type": ["string", "null"]}
    )
    members = fields.Function(
        lambda row: None if row.club.is_private else row.members,
        metadata={"type": ["integer", "null"], "minimum": 0},
    )
    distance_km = fields.Function(
        lambda row: None if row.distance_km is None else round(row.distance_km, 1),
        metadata={"type": ["number", "null"]},
    )


class Origin(Out):
    latitude = fields.Float()
    longitude = fields.Float()


ClubPage = page_of(
    ClubSummary,
    "ClubPage",
    near=fields.Nested(Origin, allow_none=True),
    near_error=text(null=True),
)


class ClubActions(Out):
    join = fields.Boolean()
    leave = fields.Boolean()
    donate = fields.Boolean()
    offer_book = fields.Boolean()


class Club(ClubPlace):
    """A club's page: the inside only for those who may see it (``ClubView`` decides)."""

    region = fields.String(attribute="club.region")
    closed = fields.Function(lambda view: view.club.closed_at is not None, metadata={"type": "boolean"})
    inside = fields.Boolean()
    description = fields.Function(
        lambda view: view.club.description if view.inside else None, metadata={"type": ["string", "null"]}
    )
    members = _inside("members")
    donation_goal_cents = fields.Function(
        lambda view: view.club.donation_goal_cents if view.inside else None, metadata={"type": ["integer", "null"]}
    )
    donated_cents = _inside("donated_cents")
    join_questions = fields.List(fields.String())
    your_role = text(null=True)
    your_status = text(null=True)
    actions = fields.Nested(ClubActions)
    url = fields.Function(lambda view: view.url, metadata={"type": "string", "format": "uri"})


class JoinRequest(In):
    answers = fields.Dict(
        keys=Text(drop_nul=True),
        values=Text(ANSWER_MAX),
        load_default=dict,
        validate=validate.Length(max=20, error="Give at most 20 answers."),
        metadata={"maxProperties": 20, "description": "Answers to the club's join_questions, keyed by the question."},
    )


class Membership(Out):
    club = fields.String(attribute="club.slug")
    role = fields.String()
    status = fields.String(validate=validate.OneOf(("active", "pending")))


class MyClub(Out):
    slug = fields.String(attribute="club.slug")
    name = fields.String(attribute="club.name")
    place = fields.String(attribute="club.place")
    visibility = fields.String(attribute="club.visibility")
    closed = fields.Function(lambda row: row.club.closed_at is not None, metadata={"type": "boolean"})
    role = fields.String(attribute="membership.role")
    status = fields.String(attribute="membership.status")
    joined_at = Timestamp(attribute="membership.joined_at")
    url = fields.Function(lambda row: row.url, metadata={"type": "string", "format": "uri"})


MyClubPage = page_of(MyClub, "MyClubPage")


# ---- Contests -------------------------------------------------------------------------------

LISTED = (ContestStatus.DRAFT, ContestStatus.OPEN, ContestStatus.SCORING, ContestStatus.FINISHED)
PHASES = ("running", "upcoming", "results", "cancelled")


def phase(contest) -> str:
    """Where the contest is, as the site's contest list groups them."""
    if contest.status in (ContestStatus.SCORING, ContestStatus.FINISHED):
        return "results"
    if contest.status == ContestStatus.CANCELLED:
        return "cancelled"
    if contest.status == ContestStatus.DRAFT or contest.starts_at > datetime.now(UTC):
        return "upcoming"
    return "running"


class ContestQuery(PageArgs):
    status = fields.String(validate=validate.OneOf(LISTED), metadata={"description": "Only this status."})


class ContestSummary(Out):
    id = fields.Integer(attribute="contest.id")
    title = fields.String(attribute="contest.title")
    kind = fields.String(attribute="contest.kind")
    metric = fields.String(attribute="contest.metric")
    scoring = fields.String(attribute="contest.scoring")
    status = fields.String(attribute="contest.status")
    status_label = fields.String(attribute="contest.status_label")
    phase = fields.Function(lambda card: phase(card.contest), metadata={"type": "string", "enum": list(PHASES)})
    starts_at = Timestamp(attribute="contest.starts_at")
    ends_at = Timestamp(attribute="contest.ends_at")
    prize = fields.String(attribute="contest.prize")
    url = fields.Function(lambda card: card.url, metadata={"type": "string", "format": "uri"})
    entrants = count()


ContestPage = page_of(ContestSummary, "ContestPage")


class Winner(Out):
    """An entrant's place (``standing`` of a contest, with its ``contest`` for the score's label)."""

    entrant_id = fields.Integer(attribute="place.entrant_id")
    name = fields.String(attribute="place.name")
    score = fields.Float(attribute="place.score")
    score_label = fields.Function(lambda row: score_label(row.contest, row.place), metadata={"type": "string"})
    total = fields.Integer(attribute="place.total")


class Contest(ContestSummary):
    description = fields.String(attribute="contest.description")
    formula = fields.String()
    tie_break = fields.String()
    member_floor = count(attribute="contest.member_floor")
    entries_open = fields.Boolean()
    provisional_until = Timestamp(attribute="contest.provisional_until", allow_none=True)
    winner = fields.Nested(Winner, allow_none=True)


class LeaderboardRow(Winner):
    rank = fields.Integer(attribute="place.rank", validate=validate.Range(min=1))
    change = fields.Integer()
    members = count(attribute="place.members")
    participants = count(attribute="place.participants")
    participation = fields.Float(attribute="place.participation")
    reached_at = text(attribute="place.reached_at", null=True)


class Leaderboard(Out):
    contest_id = fields.Integer(attribute="contest.id")
    status = fields.String(attribute="contest.status")
    final = fields.Boolean()
    rows = fields.List(fields.Nested(LeaderboardRow))


class EntryRequest(In):
    club = Slug(metadata={"description": "Club contests: the slug of a club you own."})


class ContestEntry(Out):
    contest_id = fields.Integer()
    club = text(null=True)
    entered_at = Timestamp()


def place_of(values) -> Place:
    """An entrant's place, from a Standing or the dict a scored contest stores."""
    return values if isinstance(values, Place) else Place(**values)
