"""The catalogue for the shell: the book list (search, filters, sort, pages) and one book.

Both answer with an ETag and honour ``If-None-Match`` (304), so the shell revalidates for free.
"""

from __future__ import annotations

from flask import request

from app.api import bp, serializers
from app.api.common import ApiError, conditional, paginated, with_etag
from app.api.inputs import LIST_HEADERS, PAGE_PARAMS, QueryArgs, path_param, query_param
from app.api.openapi import describe, json_content, problems, ref
from app.api.serializers import ID, MAX_ID
from app.catalogue.queries import SORTS, CatalogueParams, get_book, list_books

MAX_PRICE_DOLLARS = 100_000  # as the site's search form allows
FILTERS = ("q", "genre", "min_price", "max_price", "in_stock", "sort")


def _catalogue_params() -> CatalogueParams:
    """The listing's parameters, read by the rules of the site's search form; 422 names every bad one."""
    args = QueryArgs()
    page, per_page = args.pages()
    params = CatalogueParams(
        q=args.text("q", 200),
        genre=args.text("genre", 80),
        min_price_cents=args.dollars("min_price", MAX_PRICE_DOLLARS),
        max_price_cents=args.dollars("max_price", MAX_PRICE_DOLLARS),
        in_stock=args.boolean("in_stock"),
        sort=args.choice("sort", SORTS, "relevance"),
        page=page,
        per_page=per_page,
    )
    args.check()
    return params


@bp.route("/books")
def books():
    """A page of books matching the search and filters (as /books on the site)."""
    found = list_books(_catalogue_params())
    echoed = {name: request.args[name] for name in FILTERS if request.args.get(name)}
    items = [serializers.book(book) for book in found.books]
    return conditional(paginated(items, found.total, found.page, found.per_page, "api.books", **echoed))


@bp.route(f"/books/<int(min=1, max={MAX_ID}):book_id>")
def book(book_id: int):
    found = get_book(book_id)
    if found is None:
        raise ApiError(404, "Not Found", "No book with this id is in the catalogue.")
    return with_etag(serializers.book_detail(found))


# ---- The contract ---------------------------------------------------------------------------

IF_NONE_MATCH = {
    "name": "If-None-Match",
    "in": "header",
    "required": False,
    "schema": {"type": "string"},
    "description": "The ETag you have: 304 when it is still current.",
}
ETAG = {"ETag": {"description": "This version of the answer", "schema": {"type": "string"}}}
NOT_MODIFIED = {"304": {"description": "Not modified: your copy (If-None-Match) is current", "headers": ETAG}}
PRICE = {"type": "number", "minimum": 0, "maximum": MAX_PRICE_DOLLARS}

describe(
    "/books",
    "get",
    {
        "summary": "Search and browse the catalogue",
        "operationId": "listBooks",
        "parameters": [
            query_param("q", {"type": "string"}, "Words from the title, authors or description, or an ISBN."),
            query_param("genre", {"type": "string"}, "A genre's slug."),
            query_param("min_price", PRICE, "Lowest price, in dollars (like 12.50)."),
            query_param("max_price", PRICE, "Highest price, in dollars."),
            query_param("in_stock", {"type": "boolean"}, "Only books in stock."),
            query_param("sort", {"enum": list(SORTS)}, "The order (relevance unless given)."),
            *PAGE_PARAMS,
            IF_NONE_MATCH,
        ],
        "responses": {
            "200": {
                "description": "A page of books",
                "headers": {**LIST_HEADERS, **ETAG},
                "content": json_content(ref("BookPage")),
            },
            **NOT_MODIFIED,
            **problems(422),
        },
    },
)
describe(
    "/books/{book_id}",
    "get",
    {
        "summary": "One book, with its description, genres and publisher",
        "operationId": "getBook",
        "parameters": [path_param("book_id", ID, "The book's id."), IF_NONE_MATCH],
        "responses": {
            "200": {"description": "The book", "headers": ETAG, "content": json_content(ref("BookDetail"))},
            **NOT_MODIFIED,
            **problems(404),
        },
    },
)
