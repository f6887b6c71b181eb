"""Contests for the shell: the list, a contest's rules and window, its live leaderboard, entering.

Like the site's pages, reading a contest scores it when its end has passed (the embedded default
has no scheduler), under the site's lock so one process scores a contest once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

from flask import g, url_for
from sqlalchemy import select

from app.api import bp
from app.api.club_shapes import Contest as ContestShape
from app.api.club_shapes import ContestEntry, ContestPage, ContestQuery, EntryRequest, Leaderboard, place_of
from app.api.common import (
    LIST_HEADERS,
    ApiError,
    conflict,
    not_found,
    optional_token,
    page_in_memory,
    problems,
    token_required,
    viewer,
)
from app.api.fields import MAX_ID
from app.contests import queries, services
from app.contests.leaderboard import live_leaderboard
from app.contests.permissions import can_see, is_admin, owned_clubs
from app.contests.scoring import TIE_BREAK_RULE, formula
from app.extensions import db
from app.models import Club, Contest, ContestStatus

TAGS = ["contests"]

CONTEST_ROUTE = f"/contests/<int(min=1, max={MAX_ID}):contest_id>"
SCORED = (ContestStatus.SCORING, ContestStatus.FINISHED)


def _contest(contest_id: int) -> Contest:
    """The contest, scored first if its end has passed; drafts only for those who can open them."""
    found = db.session.get(Contest, contest_id)
    if found is None or not can_see(found, viewer()):
        raise not_found("There is no contest here.")
    services.score_ended_contests(found)
    return found


def _card(contest: Contest, entrants: int, **more) -> SimpleNamespace:
    url = url_for("contests.show", contest_id=contest.id, _external=True)
    return SimpleNamespace(contest=contest, entrants=entrants, url=url, **more)


@bp.route("/contests", tags=TAGS)
@optional_token
@bp.arguments(ContestQuery, location="query")
@bp.response(200, ContestPage, headers=LIST_HEADERS)
@bp.doc(operationId="listContests")
def contests(args):
    """Contests: running, upcoming and finished (drafts too, for admins), optionally of one status"""
    status = args.get("status")
    services.score_ended_contests()  # as the site's list does: the embedded default has no scheduler
    listing = queries.contest_listing(include_drafts=is_admin(viewer()))
    cards = [_card(c.contest, c.entrants) for c in listing.all() if status is None or c.contest.status == status]
    echo = {"status": status} if status else {}
    return page_in_memory(cards, args["page"], args["per_page"], "api.contests", **echo)


@bp.route(CONTEST_ROUTE, tags=TAGS)
@optional_token
@bp.response(200, ContestShape)
@problems(404)
@bp.doc(operationId="getContest")
def contest(contest_id: int):
    """A contest: its rules in words (formula), window (UTC) and, once finished, its winner"""
    found = _contest(contest_id)
    winner = (found.standings or {}).get("winner") if found.status == ContestStatus.FINISHED else None
    return _card(
        found,
        len(live_leaderboard(found)),
        formula=formula(found),
        tie_break=TIE_BREAK_RULE,
        entries_open=found.status in (ContestStatus.DRAFT, ContestStatus.OPEN) and found.ends_at > datetime.now(UTC),
        winner=SimpleNamespace(contest=found, place=place_of(winner)) if winner else None,
    )


@bp.route(f"{CONTEST_ROUTE}/leaderboard", tags=TAGS)
@optional_token
@bp.response(200, Leaderboard)
@problems(404)
@bp.doc(operationId="getLeaderboard")
def leaderboard(contest_id: int):
    """The live leaderboard (final standings once scored)"""
    found = _contest(contest_id)
    rows = [SimpleNamespace(contest=found, place=row.standing, change=row.change) for row in live_leaderboard(found)]
    return SimpleNamespace(contest=found, final=found.status in SCORED and bool(found.standings), rows=rows)


@bp.route(f"{CONTEST_ROUTE}/entries", methods=["POST"], tags=TAGS)
@token_required
@bp.arguments(EntryRequest, required=False)
@bp.response(201, ContestEntry, description="Entered")
@problems(403, 404, 409)
@bp.doc(operationId="enterContest")
def enter(body, contest_id: int):
    """Enter a contest: yourself (readers) or a club you own (``club``: its slug, for club contests)"""
    found = _contest(contest_id)
    club = None
    if found.is_club_contest:
        if "club" not in body:
            detail = "This contest is between clubs: give the slug of a club you own."
            raise conflict(detail, {"club": [detail]})
        club = db.session.scalar(select(Club).where(Club.slug == body["club"]))
        if club is None:
            raise not_found("There is no club with this slug.")
        if not is_admin(g.api_user) and club.id not in {owned.id for owned in owned_clubs(g.api_user)}:
            raise ApiError(403, "Forbidden", "Only the club's owner can enter it in a contest.")
    try:
        entry = services.enter_contest(found, g.api_user, club)
    except services.ContestError as exc:
        raise conflict(str(exc)) from None
    return {"contest_id": entry.contest_id, "club": club.slug if club else None, "entered_at": entry.entered_at}
