"""Clubs for the shell: the directory, a club, joining and leaving, giving money and books.

Every club call asks permissions.py, as the site's ``require()`` does, and answers the same
way in problem details: 404 for what a private club hides, 401 signed out, 403 otherwise.
A request the contract allows but the club's current state refuses (questions unanswered, a
closed club) is a 409 Conflict.
"""

from __future__ import annotations

from types import SimpleNamespace

from flask import g, request, url_for
from sqlalchemy import select

from app.api import bp
from app.api.club_shapes import Club as ClubShape
from app.api.club_shapes import ClubPage, ClubQuery, JoinRequest, Membership
from app.api.common import (
    LIST_HEADERS,
    ApiError,
    conflict,
    not_found,
    optional_token,
    page,
    problems,
    token_required,
    viewer,
)
from app.api.shapes import BookOffer, DonationRequest, DonationStarted, OfferRequest
from app.clubs import queries
from app.clubs.permissions import Standing, standing_in
from app.clubs.services import ClubError, join_club, leave_club, member_count
from app.donations import offers
from app.donations.fund import donated_total
from app.donations.services import DonationError, GatewayError, create_donation, start_donation_checkout
from app.extensions import db
from app.models import Club
from app.payments.idempotency import KEY, KEY_RULE, is_valid_key

TAGS = ["clubs"]

CLUB_ROUTE = "/clubs/<slug:slug>"


def _club(slug: str) -> Club:
    found = db.session.scalar(select(Club).where(Club.slug == slug))
    if found is None:
        raise not_found("There is no club here.")
    return found


def _refuse(standing: Standing, action: str):
    """Why ``action`` is refused, as the site's ``require()`` decides it."""
    if not standing.can_see and action != "join":
        raise not_found("There is no club here.")
    if not standing.signed_in:
        raise ApiError(401, "Unauthorized", "Sign in to do this.")
    raise ApiError(403, "Forbidden", "You may not do this in this club.")


def _standing(slug: str, action: str) -> Standing:
    standing = standing_in(_club(slug), viewer())
    if not standing.can(action):
        _refuse(standing, action)
    return standing


def club_view(standing: Standing) -> SimpleNamespace:
    """A club as ``ClubShape`` shows it: the inside only for those who may see it."""
    found, membership, inside = standing.club, standing.membership, standing.can("view")
    open_ = found.closed_at is None
    return SimpleNamespace(
        club=found,
        inside=inside,
        members=member_count(found) if inside else None,
        donated_cents=donated_total(found.id) if inside else None,
        # Those who may ask to join must see the questions they are asked.
        join_questions=found.join_questions if inside or standing.can("join") else [],
        your_role=membership.role if membership is not None else None,
        your_status=membership.status if membership is not None else None,
        actions={
            "join": standing.can("join"),
            "leave": standing.can("leave") and not standing.is_owner,
            "donate": standing.can("donate") and open_,
            "offer_book": standing.can("offer_book") and open_,
        },
        url=url_for("clubs.show", slug=found.slug, _external=True),
    )


# ---- The directory and a club ---------------------------------------------------------------


@bp.route("/clubs", tags=TAGS)
@bp.arguments(ClubQuery, location="query")
@bp.response(200, ClubPage, headers=LIST_HEADERS)
@bp.doc(operationId="listClubs")
def clubs(args):
    """The club directory: open clubs by name, or nearest first with ``near``"""
    params = queries.DirectoryParams(
        **{name: args.get(name, "") for name in ("q", "city", "country", "near")},
        page=args["page"],
        per_page=args["per_page"],
    )
    found = queries.directory(params)
    echoed = {name: value for name in ("q", "city", "country", "near") if (value := getattr(params, name))}
    body, headers = page(found.rows, found.total, params.page, params.per_page, "api.clubs", **echoed)
    origin = {"latitude": found.origin[0], "longitude": found.origin[1]} if found.origin else None
    return {**body, "near": origin, "near_error": found.origin_error}, headers


@bp.route(CLUB_ROUTE, tags=TAGS)
@optional_token
@bp.response(200, ClubShape)
@problems(404)
@bp.doc(operationId="getClub")
def club(slug: str):
    """A club: name and place for anyone, the inside for those who may see it"""
    return club_view(_standing(slug, "view_listing"))


# ---- Joining and leaving --------------------------------------------------------------------


@bp.route(f"{CLUB_ROUTE}/join", methods=["POST"], tags=TAGS)
@token_required
@bp.arguments(JoinRequest, required=False)
@bp.response(201, Membership, description="Joined (active) or asked to join (pending)")
@problems(403, 404, 409)
@bp.doc(operationId="joinClub")
def join(body, slug: str):
    """Join a public club at once, or ask to join a private one (answering its join_questions)"""
    found = _club(slug)
    standing = standing_in(found, g.api_user)
    if not standing.can("join"):
        if standing.is_banned:
            raise ApiError(403, "Forbidden", "You cannot join this club.")
        if standing.membership is not None:
            already = "You have already asked to join" if standing.is_pending else "You are already a member of"
            raise conflict(f"{already} this club.")
        if found.closed_at is not None:
            raise conflict("This club is closed.")
        _refuse(standing, "join")
    try:
        membership = join_club(found, g.api_user, body["answers"])
    except ClubError as exc:
        # A second request won the race, the club closed, or its questions are not all answered
        # (the club's questions can change between reading and answering them).
        raise conflict(str(exc), {"answers": [str(exc)]}) from None
    return SimpleNamespace(club=found, role=membership.role, status=membership.status)


@bp.route(f"{CLUB_ROUTE}/membership", methods=["DELETE"], tags=TAGS)
@token_required
@bp.response(204)
@problems(403, 404, 409)
@bp.doc(operationId="leaveClub")
def leave(slug: str):
    """Leave a club"""
    standing = _standing(slug, "leave")
    try:
        leave_club(standing.club, g.api_user)
    except ClubError as exc:
        raise conflict(str(exc)) from None


# ---- Giving money and books -----------------------------------------------------------------


@bp.route(f"{CLUB_ROUTE}/donations", methods=["POST"], tags=TAGS)
@token_required
@bp.arguments(DonationRequest)
@bp.response(201, DonationStarted, description="The donation; open checkout_url (null: try url later)")
@problems(400, 403, 404, 409)
@bp.doc(
    operationId="donateToClub",
    parameters=[
        {
            "name": "Idempotency-Key",
            "in": "header",
            "required": False,
            "description": "One key per donation: a resend with it returns the first one's answer",
            "schema": {"type": "string", "pattern": f"^{KEY.pattern}$"},
        }
    ],
)
def donate(body, slug: str):
    """Give money to a club: a pending donation and the gateway's page to pay it, for the webview"""
    found = _standing(slug, "donate").club
    key = request.headers.get("Idempotency-Key")
    if key is not None and not is_valid_key(key):
        raise ApiError(400, "Bad Request", f"Invalid Idempotency-Key: {KEY_RULE}.")
    try:
        donation = create_donation(
            found, g.api_user, body["amount_cents"], body["message"], body["anonymous"], idempotency_key=key
        )
        checkout_url = start_donation_checkout(donation, g.api_user) if donation.is_open else None
    except DonationError as exc:
        # The bounds are the contract's: what is left is a closed club, a ban, or a key reused for
        # another donation (KeyReused).
        raise conflict(str(exc)) from None
    except GatewayError:
        checkout_url = None  # saved: the donation's page (url) offers to pay again
    return SimpleNamespace(donation=donation, checkout_url=checkout_url)


@bp.route(f"{CLUB_ROUTE}/book-offers", methods=["POST"], tags=TAGS)
@token_required
@bp.arguments(OfferRequest)
@bp.response(201, BookOffer, description="The offer, waiting for the club")
@problems(403, 404)
@bp.doc(operationId="offerBook")
def offer_book(body, slug: str):
    """Offer your club a catalogue book (``book_id``) or any book (title, author, optional ISBN)"""
    standing = _standing(slug, "offer_book")
    try:
        return offers.offer_book(standing.club, g.api_user, **body)
    except offers.OfferError as exc:  # the contract cannot know the catalogue: an unknown book_id
        raise ApiError(404, "Not Found", str(exc), {"book_id": [str(exc)]}) from None
