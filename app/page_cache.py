"""Whole pages for visitors without an account, kept in the shared cache.

Every visitor who is not signed in sees the same HTML for the same address, except for one thing:
their CSRF token (in the page's htmx headers and in forms such as "Add to cart"). A cached page
is stored with a placeholder where the token was and served with the visitor's own token put back,
so forms keep working, with and without JavaScript.

A page is cached under the versions of what it shows (``app.catalogue.caching`` bumps them when
books, prices or stock change): the versions are read from the shared cache (one ``MGET`` per
request), the page itself comes from this process's memory when it has served it before, else
from the shared cache; a page built at an older version is never served, on any process.

Not cached (the view runs as usual):
- anything but GET or HEAD, and answers other than a 200 HTML page;
- a visitor with more in their session than a CSRF token (a cart, a flash message, a checkout
  under way, a signed-in user), a remember-me cookie or an ``Authorization`` header;
- a page while the cache is off (``CACHE_TYPE`` ``NullCache``, as in tests that want it).

The key carries what else the same address can differ by: an htmx partial request (a fragment)
and the mobile shell (no site header), as the ``Vary`` header says.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import wraps

from flask import Response, current_app, g, request
from flask.globals import _cv_request
from flask_login.config import COOKIE_NAME as REMEMBER_COOKIE

from app.catalogue.caching import current_versions, lookup, store
from app.csrf import csrf_token
from app.htmx import is_partial
from app.webview import in_shell

# What a visitor's session may hold for them to get the shared page.
# (Flask-Login marks even a visitor's session not "_fresh".)
ANONYMOUS_SESSION_KEYS = frozenset({"csrf_token", "_permanent", "_fresh"})
# Stands for the visitor's CSRF token in a stored page: no token can contain these characters.
TOKEN_PLACEHOLDER = "\x00csrf\x00"


def _shareable() -> bool:
    if request.method not in ("GET", "HEAD") or "Authorization" in request.headers:
        return False
    if current_app.config.get("REMEMBER_COOKIE_NAME", REMEMBER_COOKIE) in request.cookies:
        return False
    # ``_session``: reading the session's keys this way does not mark it accessed.
    return ANONYMOUS_SESSION_KEYS.issuperset(_cv_request.get()._session.keys())


def _page_key() -> str:
    address = f"{request.full_path}|partial={is_partial()}|shell={in_shell()}"
    # A cache key, not a secret: the address is public and nothing is verified with it.
    digest = hashlib.sha1(address.encode(), usedforsecurity=False).hexdigest()
    return f"page:{request.endpoint}:{digest}"


def _serve(body: str) -> Response:
    return Response(body.replace(TOKEN_PLACEHOLDER, csrf_token()), mimetype="text/html")


def _store(key: str, response: Response) -> None:
    body = response.get_data(as_text=True)
    # The token the page was rendered with, if it has one (Flask-WTF keeps it in ``g`` per request).
    token = g.get(current_app.config["WTF_CSRF_FIELD_NAME"])
    if token:
        body = body.replace(token, TOKEN_PLACEHOLDER)
    store(key, body, timeout=current_app.config["PAGE_CACHE_SECONDS"])


def cached_for_visitors(version_keys: Callable[[], list[str]]) -> Callable:
    """Serve the view's page from the cache to visitors who are not signed in.

    ``version_keys`` names the cache versions the page depends on (each an integer bumped on change).
    """

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            if not current_app.config["PAGE_CACHE_SECONDS"] or not _shareable():
                return view(*args, **kwargs)
            versions = current_versions(version_keys())
            key = f"{_page_key()}:{':'.join(map(str, versions))}"
            stored = lookup(key)
            if stored is not None:
                return _serve(stored)
            response = current_app.make_response(view(*args, **kwargs))
            if (
                response.status_code == 200
                and response.mimetype == "text/html"
                and not response.direct_passthrough
                and "Set-Cookie" not in response.headers
                and _shareable()  # the view itself put nothing in the session (a flash, a cart)
            ):
                _store(key, response)
            return response

        return wrapper

    return decorator
