from flask import abort, current_app, render_template, send_from_directory

from app.pages import bp
from app.pages.content import PAGES, trust_page


@bp.route("/favicon.ico")
def favicon():
    # Browsers ask for /favicon.ico whatever the page links: answer with the SVG icon.
    return send_from_directory(current_app.static_folder, "favicon.svg", mimetype="image/svg+xml", max_age=86400)


@bp.route("/<any(" + ", ".join(PAGES) + "):name>")
def show(name: str):
    page = trust_page(name)
    if page is None:
        abort(404)
    return render_template("pages/show.html", page=page)
