"""The search budget: one per client address, shared by /books and /api/v1/books."""

from flask import current_app, request

from app.extensions import limiter


def _not_a_search() -> bool:
    # Browsing the shelves is cheap and cached; only a text search costs a full-text query.
    return not request.args.get("q", "").strip()


# One decorator for both views, so a search on the site and one through the API share the scope's
# budget. The limit is read from the config at request time (tests and deployments set their own).
search_limit = limiter.shared_limit(
    lambda: current_app.config["SEARCH_LIMIT_PER_IP"], scope="search", exempt_when=_not_a_search
)
