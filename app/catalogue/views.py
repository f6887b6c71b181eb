"""Catalogue pages: /books (search, filter, sort, pages) and /books/<id>."""

from flask import abort, redirect, render_template, request, url_for
from markupsafe import Markup

from app.catalogue import bp
from app.catalogue.book_changes import ALL_BOOKS_VERSION
from app.catalogue.caching import (
    LISTING_VERSION,
    book_key,
    book_version_key,
    cached,
    listing_key,
    lookup_many,
    store_many,
)
from app.catalogue.detail import for_sale
from app.catalogue.forms import FILTER_FIELDS, CatalogueForm
from app.catalogue.limits import search_limit
from app.catalogue.queries import SORTS, all_genres, get_book, list_books
from app.htmx import is_partial
from app.page_cache import cached_for_visitors


def _cached(key: str, render) -> str:
    return cached(key, render)


@bp.route("/books")
@search_limit
@cached_for_visitors(lambda: [LISTING_VERSION], readers=True)
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
    return render_template("catalogue/list.html", form=form, results=results, filters=_filters(form)), status


def _filters(form: CatalogueForm) -> Markup:
    """The filter panel: WTForms renders its widgets slowly (escaping every option of every select,
    most of a listing's time), and the panel only changes with the genres and the choices made."""

    def render() -> str:
        return render_template("catalogue/_filters.html", form=form)

    if form.errors:
        return Markup(render())  # errors are shown next to their fields: this panel is one of a kind
    choices = {name: form[name].data for name in FILTER_FIELDS}
    return Markup(_cached(listing_key({"filters": repr(sorted(choices.items()))}), render))


def _book_versions() -> list[str]:
    # Every committed change to a book bumps its version, whoever makes it (app/catalogue/book_changes.py).
    return [book_version_key(request.view_args["book_id"]), ALL_BOOKS_VERSION]


@bp.route("/books/<int:book_id>")
@bp.route("/books/<int:book_id>/<slug>")
@cached_for_visitors(_book_versions, readers=True)
def book(book_id: int, slug: str | None = None):
    sale = for_sale(book_id)
    if sale is None:
        abort(404)
    if slug != sale.slug:
        return redirect(url_for("catalogue.book", book_id=sale.id, slug=sale.slug), code=301)
    info_key = book_key(sale.id)
    head_key = f"{info_key}:head"
    info, head = lookup_many(info_key, head_key)  # kept in this process after the first time
    if info is None or head is None:
        found = get_book(book_id)
        if found is None:
            abort(404)
        info = render_template("catalogue/_book_info.html", book=found)
        head = render_template("catalogue/_book_head.html", book=found)
        store_many({info_key: info, head_key: head})
    return render_template("catalogue/detail.html", book=sale, info=info, head=head)
