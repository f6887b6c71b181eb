from flask import abort, render_template

from app.pages import bp
from app.pages.content import PAGES, trust_page


@bp.route("/<any(" + ", ".join(PAGES) + "):name>")
def show(name: str):
    page = trust_page(name)
    if page is None:
        abort(404)
    return render_template("pages/show.html", page=page)
