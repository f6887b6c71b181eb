"""Contests for the shell: the list, a contest's rules and window, its live leaderboard, entering.

Like the site's pages, reading a contest scores it when its end has passed (the embedded default
has no scheduler), under the site's lock so one process scores a contest once.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import g
from flask_login import AnonymousUserMixin
from sqlalchemy import select

from app.api import bp, serializers
from app.api.common import ApiError, optional_token, token_required
from app.api.inputs import LIST_HEADERS, PAGE_PARAMS, JsonFields, QueryArgs, list_page, path_param, query_param
from app.api.openapi import SECURED, describe, json_content, problems, ref
from app.api.serializers import ID, MAX_ID
from app.contests import queries, services
from app.contests.leaderboard import live_leaderboard
from app.contests.permissions import can_see, is_admin, owned_clubs
from app.contests.scoring import TIE_BREAK_RULE, formula
from app.extensions import db
from app.models import Club, Contest, ContestStatus

LISTED = (ContestStatus.DRAFT, ContestStatus.OPEN, ContestStatus.SCORING, ContestStatus.FINISHED)
CONTEST_ROUTE = f"/contests/<int(min=1, max={MAX_ID}):contest_id>"


def _viewer():
    return g.get("api_user") or AnonymousUserMixin()


def _contest(contest_id: int) -> Contest:
    """The contest, scored first if its end has passed; drafts only for those who can open them."""
    found = db.session.get(Contest, contest_id)
    if found is None or not can_see(found, _viewer()):
        raise ApiError(404, "Not Found", "There is no contest here.")
    services.score_ended_contests(found)
    return found


@bp.route("/contests")
@optional_token
def contests():
    """Running, upcoming and finished contests (drafts too, for admins), optionally of one status."""
    args = QueryArgs()
    status = args.choice("status", LISTED, None)
    page, per_page = args.pages()
    args.check()
    services.score_ended_contests()  # as the site's list does: the embedded default has no scheduler
    listing = queries.contest_listing(include_drafts=is_admin(_viewer()))
    cards = [card for card in listing.all() if status is None or card.contest.status == status]
    echo = {"status": status} if status else {}
    return list_page(cards, page, per_page, serializers.contest_summary, "api.contests", **echo)


@bp.route(CONTEST_ROUTE)
@optional_token
def contest(contest_id: int):
    found = _contest(contest_id)
    rows = live_leaderboard(found)
    return serializers.contest(
        found,
        entrants=len(rows),
        formula=formula(found),
        tie_break=TIE_BREAK_RULE,
        entries_open=found.status in (ContestStatus.DRAFT, ContestStatus.OPEN) and found.ends_at > datetime.now(UTC),
    )


@bp.route(f"{CONTEST_ROUTE}/leaderboard")
@optional_token
def leaderboard(contest_id: int):
    found = _contest(contest_id)
    return serializers.leaderboard(found, live_leaderboard(found))


@bp.route(f"{CONTEST_ROUTE}/entries", methods=["POST"])
@token_required
def enter(contest_id: int):
    """Join a reader contest, or enter a club you own in a club contest (``club``: its slug)."""
    found = _contest(contest_id)
    fields = JsonFields.of_body(required=False)
    slug = fields.text("club", 80)
    if found.is_club_contest and not slug:
        fields.fail("club", "This contest is between clubs: give the slug of a club you own.")
    fields.check()
    club = None
    if found.is_club_contest:
        club = db.session.scalar(select(Club).where(Club.slug == slug))
        if club is None:
            raise ApiError(404, "Not Found", "There is no club with this slug.")
        if not is_admin(g.api_user) and club.id not in {owned.id for owned in owned_clubs(g.api_user)}:
            raise ApiError(403, "Forbidden", "Only the club's owner can enter it in a contest.")
    try:
        entry = services.enter_contest(found, g.api_user, club)
    except services.ContestError as exc:
        raise ApiError(409, "Conflict", str(exc)) from None
    return serializers.contest_entry(entry, club.slug if club else None), 201


# ---- The contract ---------------------------------------------------------------------------

CONTEST_ID = path_param("contest_id", ID, "The contest's id.")
READ_SECURITY = [*SECURED, {}]  # a token shows drafts to those who may open them

describe(
    "/contests",
    "get",
    {
        "summary": "Contests: running, upcoming and finished",
        "operationId": "listContests",
        "security": READ_SECURITY,
        "parameters": [query_param("status", {"enum": list(LISTED)}, "Only contests with this status."), *PAGE_PARAMS],
        "responses": {
            "200": {
                "description": "The contests",
                "headers": LIST_HEADERS,
                "content": json_content(ref("ContestPage")),
            },
            **problems(401, 422),
        },
    },
)
describe(
    "/contests/{contest_id}",
    "get",
    {
        "summary": "A contest: its rules in words (formula), window (UTC) and winner",
        "operationId": "getContest",
        "security": READ_SECURITY,
        "parameters": [CONTEST_ID],
        "responses": {
            "200": {"description": "The contest", "content": json_content(ref("Contest"))},
            **problems(401, 404),
        },
    },
)
describe(
    "/contests/{contest_id}/leaderboard",
    "get",
    {
        "summary": "The live leaderboard (final standings once scored)",
        "operationId": "getLeaderboard",
        "security": READ_SECURITY,
        "parameters": [CONTEST_ID],
        "responses": {
            "200": {"description": "The standings", "content": json_content(ref("Leaderboard"))},
            **problems(401, 404),
        },
    },
)
describe(
    "/contests/{contest_id}/entries",
    "post",
    {
        "summary": "Enter a contest: yourself (readers) or a club you own (clubs)",
        "operationId": "enterContest",
        "security": SECURED,
        "parameters": [CONTEST_ID],
        "requestBody": {
            "required": False,
            "content": json_content(
                {
                    "type": "object",
                    "properties": {"club": {"type": "string", "maxLength": 80, "description": "Club contests."}},
                }
            ),
        },
        "responses": {
            "201": {"description": "Entered", "content": json_content(ref("ContestEntry"))},
            **problems(400, 401, 403, 404, 409, 422),
        },
    },
)
