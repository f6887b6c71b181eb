import hashlib

from flask import current_app, jsonify, render_template, request
from flask_login import current_user

from app.catalogue.caching import listing_key
from app.extensions import cache
from app.main import bp, home
from app.main.health import breaker_states, readiness


def _cached(key: str, timeout: int, render) -> str:
    """A rendered section from the cache, or rendered now and kept for ``timeout`` seconds."""
    html = cache.get(key)
    if html is None:
        html = render()
        cache.set(key, html, timeout=timeout)
    return html


@bp.route("/")
def index():
    city = request.args.get("city", "").strip()[: home.CITY_MAX]
    config = current_app.config
    # Books follow the catalogue's version (a changed book shows at once); contests and clubs
    # may be a minute behind.
    books = _cached(
        listing_key({"home": "books"}),
        config["CATALOGUE_CACHE_SECONDS"],
        lambda: render_template("main/_books.html", shelves=home.bookshelves()),
    )
    contests = _cached(
        "home:contests",
        config["HOME_CACHE_SECONDS"],
        lambda: render_template("main/_contests.html", running=home.running_contests()),
    )
    # A cache key, not a secret: the city is what the visitor typed.
    city_key = hashlib.sha1(city.lower().encode(), usedforsecurity=False).hexdigest()
    clubs = _cached(
        f"home:clubs:{city_key}",
        config["HOME_CACHE_SECONDS"],
        lambda: render_template("main/_clubs.html", choice=home.clubs_to_join(city)),
    )
    reader = home.reader_home(current_user) if current_user.is_authenticated else None
    return render_template("main/index.html", books=books, contests=contests, clubs=clubs, reader=reader)


@bp.route("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.route("/readyz")
def readyz():
    checks = readiness()
    ready = all(value == "ok" for value in checks.values())
    states = breaker_states()
    # An open breaker leaves the app serving (pages, browsing), without payments or mail for a
    # while: "degraded" keeps it in the load balancer, and names the breaker for the operator.
    status = "unavailable" if not ready else "ok" if set(states.values()) == {"closed"} else "degraded"
    return jsonify(status=status, checks=checks, breakers=states), 200 if ready else 503
