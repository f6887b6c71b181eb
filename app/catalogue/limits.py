"""The search budget: one per client address, shared by /books and /api/v1/books."""

from collections.abc import Callable
from functools import wraps

from flask import current_app, request

from app.extensions import limiter
from app.page_serving import RATE_LIMITED

LIMITER_MARK = "__wrapper-limiter-instance"  # how Flask-Limiter marks a view it guards


def _not_a_search() -> bool:
    # Browsing the shelves is cheap and cached; only a text search costs a full-text query.
    return not request.args.get("q", "").strip()


# One limit for both views, so a search on the site and one through the API share the scope's
# budget. The limit is read from the config at request time (tests and deployments set their own).
_search_budget = limiter.shared_limit(lambda: current_app.config["SEARCH_LIMIT_PER_IP"], scope="search")


def search_limit(view: Callable) -> Callable:
    """Count a text search against the client's budget; browsing without ``q`` is not counted.

    Flask-Limiter's ``exempt_when`` would decide the same, but only after resolving the limits on
    every request; browsing is the page most visitors load, so it skips the limiter altogether.
    """
    limited = _search_budget(view)

    @wraps(view)
    def wrapper(*args, **kwargs):
        if _not_a_search():
            return view(*args, **kwargs)
        request.environ[RATE_LIMITED] = True  # never answered from the page cache without the limit
        return limited(*args, **kwargs)

    setattr(wrapper, LIMITER_MARK, getattr(limited, LIMITER_MARK))
    return wrapper
