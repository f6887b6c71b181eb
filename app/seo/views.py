"""/robots.txt, /sitemap.xml, /favicon.ico and the share cards (/share/<kind>/<ref>.png)."""

from __future__ import annotations

import hashlib

from flask import abort, current_app, make_response, render_template, request, send_from_directory
from flask_login import current_user

from app.catalogue.queries import get_book
from app.clubs.permissions import require
from app.contests.permissions import can_see
from app.extensions import cache, db
from app.ids import parse_id
from app.models import Contest
from app.seo import bp
from app.seo.cards import draw_card
from app.seo.links import book_share_image, canonical_url
from app.seo.queries import sitemap_entries
from app.seo.structured import book_schema, club_schema

CARD_MAX_AGE = 86400
CARD_CACHE_SECONDS = 7 * 86400  # keyed by the card's text: a renamed club gets a new entry
SITEMAP_MAX_AGE = 3600

for _function in (canonical_url, book_share_image, book_schema, club_schema):
    bp.add_app_template_global(_function)


@bp.route("/robots.txt")
def robots():
    response = make_response(render_template("seo/robots.txt"))
    response.mimetype = "text/plain"
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


@bp.route("/sitemap.xml")
def sitemap():
    response = make_response(render_template("seo/sitemap.xml", entries=sitemap_entries()))
    response.mimetype = "application/xml"
    response.headers["Cache-Control"] = f"public, max-age={SITEMAP_MAX_AGE}"
    return response


def _card_text(kind: str, ref: str) -> tuple[str, str, str]:
    """(kicker, title, subtitle) of the card for a book, club or contest; 404 for what this visitor cannot see."""
    if kind == "book":
        book_id = parse_id(ref)
        book = get_book(book_id) if book_id else None
        if book is None:
            abort(404)
        return "Book", book.title, f"by {book.author_names}" if book.authors else ""
    if kind == "club":
        club = require(ref, "view_listing").club
        return "Reading club", club.name, ", ".join(part for part in (club.city, club.country) if part)
    if kind == "contest":
        contest_id = parse_id(ref)
        contest = db.session.get(Contest, contest_id) if contest_id else None
        if contest is None or not can_see(contest, current_user):
            abort(404)
        dates = f"{contest.starts_at:%d %b} – {contest.ends_at:%d %b %Y}"
        return "Reading contest", contest.title, f"{contest.status_label} · {dates}"
    abort(404)


def _png(kicker: str, title: str, subtitle: str):
    text = "\x1f".join((kicker, title, subtitle))
    key = "seo:card:" + hashlib.sha256(text.encode()).hexdigest()
    png = cache.get(key)
    if png is None:
        png = draw_card(kicker, title, subtitle)
        cache.set(key, png, timeout=CARD_CACHE_SECONDS)
    response = make_response(png)
    response.mimetype = "image/png"
    response.headers["Cache-Control"] = f"public, max-age={CARD_MAX_AGE}"
    response.add_etag()
    return response.make_conditional(request)


@bp.route("/share/<any(book, club, contest):kind>/<ref>.png")
def card(kind: str, ref: str):
    return _png(*_card_text(kind, ref))


@bp.route("/share/site.png")
def site_card():
    return _png("Books · clubs · contests", "Book Commerce", "Buy books, join a reading club, enter a contest")


@bp.route("/favicon.ico")
def favicon():
    # Browsers ask for it at the root whatever the page says; a 404 here is a console error on every page.
    response = send_from_directory(current_app.static_folder, "favicon.ico", max_age=86400)
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response
