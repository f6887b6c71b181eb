"""Clubs for the shell: the directory, a club, joining and leaving, giving money and books.

Every club call asks permissions.py, as the site's ``require()`` does, and answers the same
way in problem details: 404 for what a private club hides, 401 signed out, 403 otherwise.
"""

from __future__ import annotations

import re

from flask import current_app, g, request
from flask_login import AnonymousUserMixin
from sqlalchemy import select

from app.api import bp, serializers
from app.api.common import ApiError, invalid, optional_token, paginated, token_required
from app.api.inputs import LIST_HEADERS, NOT_BLANK, PAGE_PARAMS, JsonFields, QueryArgs, path_param, query_param
from app.api.openapi import SECURED, describe, json_content, problems, ref
from app.catalogue.isbn import InvalidISBN, normalise_isbn
from app.clubs import queries
from app.clubs.permissions import Standing, standing_in
from app.clubs.services import ClubError, join_club, leave_club, member_count
from app.donations import offers
from app.donations.fund import donated_total
from app.donations.services import (
    DonationError,
    GatewayError,
    KeyReused,
    create_donation,
    donation_bounds,
    start_donation_checkout,
)
from app.extensions import db
from app.models import BookOffer, Club
from app.payments.idempotency import KEY, KEY_RULE, is_valid_key
from config import Config

SLUG = re.compile(r"[a-z0-9-]{1,80}")
ANSWER_MAX = 1000  # as the site's join form allows


def _viewer():
    """The reader the token names; never the cookie's (the API ignores web sessions)."""
    return g.get("api_user") or AnonymousUserMixin()


def _club(slug: str) -> Club:
    found = db.session.scalar(select(Club).where(Club.slug == slug)) if SLUG.fullmatch(slug) else None
    if found is None:
        raise ApiError(404, "Not Found", "There is no club here.")
    return found


def _refuse(standing: Standing, action: str):
    """Why ``action`` is refused, as the site's ``require()`` decides it."""
    if not standing.can_see and action != "join":
        raise ApiError(404, "Not Found", "There is no club here.")
    if not standing.signed_in:
        raise ApiError(401, "Unauthorized", "Sign in to do this.")
    raise ApiError(403, "Forbidden", "You may not do this in this club.")


def _standing(slug: str, action: str) -> Standing:
    standing = standing_in(_club(slug), _viewer())
    if not standing.can(action):
        _refuse(standing, action)
    return standing


# ---- The directory and a club ---------------------------------------------------------------


@bp.route("/clubs")
def clubs():
    """Open clubs by name, or nearest first with ``near``; an unknown place lists them by name."""
    args = QueryArgs()
    page, per_page = args.pages()
    params = queries.DirectoryParams(
        q=args.text("q", 200),
        city=args.text("city", 120),
        country=args.text("country", 80),
        near=args.text("near", 100),
        page=page,
        per_page=per_page,
    )
    args.check()
    found = queries.directory(params)
    echoed = {name: value for name in ("q", "city", "country", "near") if (value := getattr(params, name))}
    items = [serializers.club_summary(row) for row in found.rows]
    response = paginated(items, found.total, params.page, per_page, "api.clubs", **echoed)
    response.set_data(current_app.json.dumps({**response.get_json(), **serializers.directory_origin(found)}))
    return response


@bp.route("/clubs/<slug>")
@optional_token
def club(slug: str):
    """A club's page: name and place for anyone, the inside for those who may see it."""
    standing = _standing(slug, "view_listing")
    if not standing.can("view"):
        return serializers.club(standing)
    found = standing.club
    return serializers.club(standing, members=member_count(found), donated_cents=donated_total(found.id))


# ---- Joining and leaving --------------------------------------------------------------------


@bp.route("/clubs/<slug>/join", methods=["POST"])
@token_required
def join(slug: str):
    """Join a public club at once, or ask to join a private one (answering its questions)."""
    found = _club(slug)
    standing = standing_in(found, g.api_user)
    if not standing.can("join"):
        if standing.is_banned:
            raise ApiError(403, "Forbidden", "You cannot join this club.")
        if standing.membership is not None:
            already = "You have already asked to join" if standing.is_pending else "You are already a member of"
            raise ApiError(409, "Conflict", f"{already} this club.")
        if found.closed_at is not None:
            raise ApiError(409, "Conflict", "This club is closed.")
        _refuse(standing, "join")
    fields = JsonFields.of_body(required=False)
    answers = fields.text_map("answers", 20, ANSWER_MAX)
    fields.check()
    try:
        membership = join_club(found, g.api_user, answers)
    except ClubError as exc:
        if standing_in(found, g.api_user).membership is not None or found.closed_at is not None:
            raise ApiError(409, "Conflict", str(exc)) from None  # a second request won the race
        raise invalid({"answers": [str(exc)]}, str(exc)) from None
    return serializers.membership(found, membership), 201


@bp.route("/clubs/<slug>/membership", methods=["DELETE"])
@token_required
def leave(slug: str):
    standing = _standing(slug, "leave")
    try:
        leave_club(standing.club, g.api_user)
    except ClubError as exc:
        raise ApiError(409, "Conflict", str(exc)) from None
    return "", 204


# ---- Giving money and books -----------------------------------------------------------------


@bp.route("/clubs/<slug>/donations", methods=["POST"])
@token_required
def donate(slug: str):
    """A pending donation and the gateway's page to pay it, for the webview."""
    standing = _standing(slug, "donate")
    found = standing.club
    low, high = donation_bounds()
    fields = JsonFields.of_body()
    amount = fields.integer("amount_cents", low, high, required=True, what="an amount in cents")
    message = fields.text("message", 500)
    anonymous = fields.boolean("anonymous")
    fields.check()
    key = request.headers.get("Idempotency-Key")
    if key is not None and not is_valid_key(key):
        raise ApiError(400, "Bad Request", f"Invalid Idempotency-Key: {KEY_RULE}.")
    try:
        donation = create_donation(found, g.api_user, amount, message, anonymous, idempotency_key=key)
        checkout_url = start_donation_checkout(donation, g.api_user) if donation.is_open else None
    except DonationError as exc:
        if found.closed_at is not None or isinstance(exc, KeyReused):
            raise ApiError(409, "Conflict", str(exc)) from None
        raise invalid({"amount_cents": [str(exc)]}, str(exc)) from None
    except GatewayError:
        checkout_url = None  # saved: the donation's page (url) offers to pay again
    return serializers.donation_started(donation, checkout_url), 201


@bp.route("/clubs/<slug>/book-offers", methods=["POST"])
@token_required
def offer_book(slug: str):
    """Offer the club a catalogue book (``book_id``) or any book (title, author, optional ISBN)."""
    standing = _standing(slug, "offer_book")
    fields = JsonFields.of_body()
    condition = fields.choice("condition", BookOffer.CONDITIONS)
    book_id = fields.integer("book_id")
    by_hand = book_id is None and not fields.given("book_id")
    title = fields.text("title", 300, required=by_hand, blank=False)
    author = fields.text("author", 200, required=by_hand, blank=False)
    isbn = fields.text("isbn", 20)
    note = fields.text("note", 500)
    if isbn.strip():
        try:
            normalise_isbn(isbn)
        except InvalidISBN as exc:
            fields.fail("isbn", str(exc))
    fields.check()
    try:
        offer = offers.offer_book(
            standing.club,
            g.api_user,
            condition=condition,
            book_id=book_id,
            title=title,
            author=author,
            isbn=isbn,
            note=note,
        )
    except offers.OfferError as exc:
        raise invalid({"book_id" if book_id else "title": [str(exc)]}, str(exc)) from None
    return serializers.book_offer(standing.club, offer), 201


# ---- The contract ---------------------------------------------------------------------------

SLUG_PARAM = path_param("slug", {"type": "string", "pattern": "^[a-z0-9-]{1,80}$"}, "The club's slug.")

describe(
    "/clubs",
    "get",
    {
        "summary": "The club directory: search, filter by place, nearest first",
        "operationId": "listClubs",
        "parameters": [
            query_param("q", {"type": "string"}, "Words from a club's name, city, region or country."),
            query_param("city", {"type": "string"}, "Only clubs in this city."),
            query_param("country", {"type": "string"}, "Only clubs in this country."),
            query_param(
                "near",
                {"type": "string"},
                "A city some club is in, or “latitude,longitude”: nearest first. An unknown place "
                "lists clubs by name and says why in near_error.",
            ),
            *PAGE_PARAMS,
        ],
        "responses": {
            "200": {
                "description": "A page of clubs",
                "headers": LIST_HEADERS,
                "content": json_content(ref("ClubPage")),
            },
            **problems(422),
        },
    },
)
describe(
    "/clubs/{slug}",
    "get",
    {
        "summary": "A club: name and place for anyone, the inside for those who may see it",
        "operationId": "getClub",
        "security": [*SECURED, {}],
        "parameters": [SLUG_PARAM],
        "responses": {"200": {"description": "The club", "content": json_content(ref("Club"))}, **problems(401, 404)},
    },
)
describe(
    "/clubs/{slug}/join",
    "post",
    {
        "summary": "Join a public club, or ask to join a private one",
        "operationId": "joinClub",
        "security": SECURED,
        "parameters": [SLUG_PARAM],
        "requestBody": {
            "required": False,
            "content": json_content(
                {
                    "type": "object",
                    "properties": {
                        "answers": {
                            "type": "object",
                            "maxProperties": 20,
                            "additionalProperties": {"type": "string", "maxLength": ANSWER_MAX},
                            "description": "Answers to the club's join_questions, keyed by the question.",
                        }
                    },
                }
            ),
        },
        "responses": {
            "201": {"description": "Joined (active) or asked (pending)", "content": json_content(ref("Membership"))},
            **problems(400, 401, 403, 404, 409, 422),
        },
    },
)
describe(
    "/clubs/{slug}/membership",
    "delete",
    {
        "summary": "Leave a club",
        "operationId": "leaveClub",
        "security": SECURED,
        "parameters": [SLUG_PARAM],
        "responses": {"204": {"description": "Left"}, **problems(401, 403, 404, 409)},
    },
)
describe(
    "/clubs/{slug}/donations",
    "post",
    {
        "summary": "Give money to a club: a pending donation and its payment page",
        "operationId": "donateToClub",
        "security": SECURED,
        "parameters": [
            SLUG_PARAM,
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "description": "One key per donation: a resend with it returns the first one's answer",
                "schema": {"type": "string", "pattern": f"^{KEY.pattern}$"},
            },
        ],
        "requestBody": {
            "required": True,
            "content": json_content(
                {
                    "type": "object",
                    "required": ["amount_cents"],
                    "properties": {
                        "amount_cents": {
                            "type": "integer",
                            "minimum": Config.DONATION_MIN_CENTS,
                            "maximum": Config.DONATION_MAX_CENTS,
                        },
                        "message": {"type": "string", "maxLength": 500},
                        "anonymous": {"type": "boolean"},
                    },
                }
            ),
        },
        "responses": {
            "201": {
                "description": "The donation; open checkout_url (null if the gateway is down: try url later)",
                "content": json_content(ref("DonationStarted")),
            },
            **problems(400, 401, 403, 404, 409, 422),
        },
    },
)
describe(
    "/clubs/{slug}/book-offers",
    "post",
    {
        "summary": "Offer a book to your club",
        "operationId": "offerBook",
        "security": SECURED,
        "parameters": [SLUG_PARAM],
        "requestBody": {
            "required": True,
            "content": json_content(
                {
                    "type": "object",
                    "required": ["condition"],
                    "properties": {
                        "book_id": serializers.ID,
                        "title": {"type": "string", "maxLength": 300, "pattern": NOT_BLANK},
                        "author": {"type": "string", "maxLength": 200, "pattern": NOT_BLANK},
                        "isbn": {
                            "type": "string",
                            "maxLength": 20,
                            "pattern": r"^[0-9Xx\s-]*$",
                            "description": "ISBN-10 or ISBN-13; a wrong check digit is refused (422).",
                        },
                        "condition": {"enum": list(BookOffer.CONDITIONS)},
                        "note": {"type": "string", "maxLength": 500},
                    },
                    "anyOf": [{"required": ["book_id"]}, {"required": ["title", "author"]}],
                }
            ),
        },
        "responses": {
            "201": {"description": "The offer, waiting for the club", "content": json_content(ref("BookOffer"))},
            **problems(400, 401, 403, 404, 422),
        },
    },
)
