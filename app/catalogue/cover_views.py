"""/books/<id>/cover.svg: the cover drawn for a book that has no image."""

from flask import abort, current_app, make_response, render_template, request

from app.catalogue import bp
from app.catalogue.caching import book_key
from app.catalogue.covers import cover_colour, cover_file, wrap_title
from app.catalogue.queries import get_book
from app.extensions import cache

COVER_MAX_AGE = 86400  # a changed title shows within a day; the ETag makes the check cheap

bp.add_app_template_global(cover_file, "cover_file")


def _render_cover(book_id: int) -> str | None:
    book = get_book(book_id)
    if book is None:
        return None
    return render_template(
        "catalogue/cover.svg",
        book=book,
        colour=cover_colour(book.title),
        lines=wrap_title(book.title),
        authors=book.author_names,
    )


@bp.route("/books/<int:book_id>/cover.svg")
def generated_cover(book_id: int):
    key = book_key(book_id, "cover-svg")
    svg = cache.get(key)
    if svg is None:
        svg = _render_cover(book_id)
        if svg is None:
            abort(404)
        cache.set(key, svg, timeout=current_app.config["CATALOGUE_CACHE_SECONDS"])
    response = make_response(svg)
    response.mimetype = "image/svg+xml"
    response.headers["Cache-Control"] = f"public, max-age={COVER_MAX_AGE}"
    response.add_etag()
    return response.make_conditional(request)
