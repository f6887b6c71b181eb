"""The catalogue for the shell: the book list (search, filters, sort, pages) and one book.

Both answer with an ETag and honour ``If-None-Match`` (304), so the shell revalidates for free.
"""

from __future__ import annotations

from flask import request

from app.api import bp
from app.api.common import LIST_HEADERS, etagged, not_found, page, problems
from app.api.fields import MAX_ID
from app.api.shapes import BookDetail, BookPage, BookQuery
from app.catalogue.limits import search_limit
from app.catalogue.queries import CatalogueParams, get_book, list_books

TAGS = ["books"]

FILTERS = ("q", "genre", "min_price", "max_price", "in_stock", "sort", "exact")


def _cents(dollars) -> int | None:
    return None if dollars is None else int(dollars * 100)


@bp.route("/books", tags=TAGS)
@search_limit
@etagged
@bp.arguments(BookQuery, location="query")
@bp.response(200, BookPage, headers=LIST_HEADERS)
@problems(429)  # the search limit (app/catalogue/limits.py)
@bp.doc(operationId="listBooks")
def books(args):
    """Search and browse the catalogue (as /books on the site); a misspelt search is corrected"""
    found = list_books(
        CatalogueParams(
            q=args.get("q", ""),
            genre=args.get("genre", ""),
            min_price_cents=_cents(args.get("min_price")),
            max_price_cents=_cents(args.get("max_price")),
            in_stock=args["in_stock"],
            sort=args["sort"],
            page=args["page"],
            per_page=args["per_page"],
            exact=args["exact"],
        )
    )
    echoed = {name: request.args[name] for name in FILTERS if request.args.get(name)}
    body, headers = page(found.books, found.total, found.page, found.per_page, "api.books", **echoed)
    body["total_capped"] = found.total_capped
    return {**body, "showing_for": found.showing_for, "suggestion": found.suggestion}, headers


@bp.route(f"/books/<int(min=1, max={MAX_ID}):book_id>", tags=TAGS)
@etagged
@bp.response(200, BookDetail)
@problems(404)
@bp.doc(operationId="getBook")
def book(book_id: int):
    """One book, with its description, genres and publisher"""
    found = get_book(book_id)
    if found is None:
        raise not_found("No book with this id is in the catalogue.")
    return found
