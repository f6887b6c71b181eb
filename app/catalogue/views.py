"""Catalogue pages: /books (search, filter, sort, pages) and /books/<id>."""

from flask import abort, current_app, redirect, render_template, request, url_for

from app.catalogue import bp
from app.catalogue.caching import book_key, listing_key
from app.catalogue.detail import for_sale
from app.catalogue.forms import CatalogueForm
from app.catalogue.limits import search_limit
from app.catalogue.queries import SORTS, all_genres, get_book, list_books
from app.extensions import cache
from app.htmx import is_partial


def _cached(key: str, render) -> str:
    html = cache.get(key)
    if html is None:
        html = render()
        cache.set(key, html, timeout=current_app.config["CATALOGUE_CACHE_SECONDS"])
    return html


@bp.route("/books")
@search_limit
def books():
    form = CatalogueForm(request.args, meta={"csrf": False})
    genres = all_genres()
    form.set_genres(genres)
    valid = form.validate() if request.args else True
    params = form.to_params()

    def render_results() -> str:
        return render_template("catalogue/_results.html", page=list_books(params), sorts=SORTS)

    results = _cached(listing_key(params.as_dict()), render_results)
    status = 200 if valid else 422
    if is_partial():
        return render_template("catalogue/_results_swap.html", results=results, form=form), status
    return render_template("catalogue/list.html", form=form, results=results, genres=genres), status


@bp.route("/books/<int:book_id>")
@bp.route("/books/<int:book_id>/<slug>")
def book(book_id: int, slug: str | None = None):
    sale = for_sale(book_id)
    if sale is None:
        abort(404)
    if slug != sale.slug:
        return redirect(url_for("catalogue.book", book_id=sale.id, slug=sale.slug), code=301)
    info_key = book_key(sale.id)
    head_key = f"{info_key}:head"
    info, head = cache.get_many(info_key, head_key)
    if info is None or head is None:
        found = get_book(book_id)
        if found is None:
            abort(404)
        info = render_template("catalogue/_book_info.html", book=found)
        head = render_template("catalogue/_book_head.html", book=found)
        cache.set_many({info_key: info, head_key: head}, timeout=current_app.config["CATALOGUE_CACHE_SECONDS"])
    return render_template("catalogue/detail.html", book=sale, info=info, head=head)
