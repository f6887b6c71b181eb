"""Whole pages kept in the shared cache: for visitors, and for signed-in readers on pages that
differ between readers only in the site header.

Every visitor who is not signed in sees the same HTML for the same address, except for one thing:
their CSRF token (in the page's htmx headers and in forms such as "Add to cart"). Signed-in readers
see the same page as each other except for their name, cart count and unread-notifications badge
in the header (and their token). Those parts are *holes*: templates mark them with ``hole(name,
value)`` while a page is being recorded; the stored page keeps a placeholder for each, and every
answer fills them in for the reader asking (``HOLES``: the token, the name, the counts, which come
from the reader's cached snapshot, app/accounts/user_cache.py). So forms keep working, with and
without JavaScript, and no reader ever sees another's header.

A page is cached under the versions of what it shows (``app.catalogue.caching`` bumps them when
books, prices or stock change): the versions are read from the shared cache (one ``MGET`` per
request), the page itself comes from this process's memory when it has served it before, else
from the shared cache; a page built at an older version is never served, on any process.

Not cached (the view runs as usual):
- anything but GET or HEAD, and answers other than a 200 HTML page;
- a session holding more than the sign-in and a CSRF token (a visitor's cart, a flash message, a
  checkout under way); a remember-me cookie without a signed-in session; an ``Authorization``
  header;
- a signed-in reader on a view that does not take readers (``readers=False``);
- a page while the cache is off (``PAGE_CACHE_SECONDS`` 0, or ``CACHE_TYPE`` ``NullCache``).

The key carries what else the same address can differ by: signed in or not, an htmx partial
request (a fragment) and the mobile shell (no site header), as the ``Vary`` header says.
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from collections.abc import Callable
from functools import wraps

from flask import Flask, Response, current_app, g, request
from flask.globals import _cv_request
from flask_login import current_user
from flask_login.config import COOKIE_NAME as REMEMBER_COOKIE
from markupsafe import Markup, escape

from app.csrf import csrf_token
from app.htmx import is_partial
from app.page_serving import LEARN, Reader
from app.webview import in_shell

# What a session may hold for its owner to get a shared page: the sign-in (Flask-Login's keys;
# it marks even a visitor's session not "_fresh") and the CSRF token. Anything else (a visitor's
# cart, a flash, a checkout) is theirs alone.
SHAREABLE_SESSION_KEYS = frozenset(
    {"csrf_token", "_permanent", "_fresh", "_user_id", "_id", "_remember", "_remember_seconds"}
)

# A hole while recording: \x00name\x01 what this reader saw \x02. In a stored page: \x00name\x00.
# No text or token of a page can hold these characters (the NUL check refuses them on the way in).
_RECORDED_HOLE = re.compile(r"\x00(\w+)\x01(.*?)\x02", re.S)
_PLACEHOLDER = re.compile(r"\x00(\w+)\x00")
TOKEN_PLACEHOLDER = "\x00csrf\x00"

# What fills each hole for the reader asking: the modules that own the value register it.
HOLES: dict[str, Callable[[], str]] = {
    "csrf": csrf_token,
    "reader_name": lambda: str(escape(current_user.name)) if current_user.is_authenticated else "",
}
# The same, for a page answered before Flask (app/page_serving.py): ``fast(app, reader)`` with the
# reader's cached snapshot (None for a visitor); None means "cannot tell here" (Flask answers).
FAST_HOLES: dict[str, Callable] = {
    "reader_name": lambda app, reader: str(escape(reader.values["name"])) if reader else "",
}


def register_hole(name: str, fill: Callable[[], str], fast: Callable | None = None) -> None:
    HOLES[name] = fill
    if fast is not None:
        FAST_HOLES[name] = fast


def hole(name: str, value: object) -> Markup | object:
    """In a template: ``{{ hole("cart_count", count) }}`` marks a part that differs between readers."""
    if g.get("page_recording"):
        return Markup(f"\x00{name}\x01") + escape(value) + Markup("\x02")
    return value


def not_this_page() -> None:
    """Called by a view: the page it is rendering must not be kept (its keys were wrong)."""
    g.page_not_kept = True


def register(app: Flask) -> None:
    app.add_template_global(hole)


def _shareable() -> bool:
    if request.method not in ("GET", "HEAD") or "Authorization" in request.headers:
        return False
    # ``_session``: reading the session's keys this way does not mark it accessed.
    session_keys = _cv_request.get()._session.keys()
    if "_user_id" not in session_keys and current_app.config.get("REMEMBER_COOKIE_NAME", REMEMBER_COOKIE) in (
        request.cookies
    ):
        return False  # Flask-Login will sign this visitor in from the cookie: not a visitor's page
    return SHAREABLE_SESSION_KEYS.issuperset(session_keys)


def address_of(environ: dict) -> str:
    """The address as the client sent it (path and query string, undecoded)."""
    return f"{environ.get('SCRIPT_NAME', '')}{environ.get('PATH_INFO', '')}?{environ.get('QUERY_STRING', '')}"


def stored_page_key(
    endpoint: str, address: str, reader: bool, partial: bool, shell: bool, versions: list, vary: str = ""
) -> str:
    kind = f"{address}|reader={reader}|partial={partial}|shell={shell}|{vary}"
    # A cache key, not a secret: the address is public and nothing is verified with it.
    digest = hashlib.sha1(kind.encode(), usedforsecurity=False).hexdigest()
    return f"page:{endpoint}:{digest}:{':'.join(map(str, versions))}"


def partial_in(environ: dict) -> bool:
    """``app.htmx.is_partial`` from the environ alone."""
    return (
        environ.get("HTTP_HX_REQUEST") == "true"
        and environ.get("HTTP_HX_REQUEST_TYPE", "partial") == "partial"
        and environ.get("HTTP_HX_BOOSTED") != "true"
        and environ.get("HTTP_HX_HISTORY_RESTORE_REQUEST") != "true"
    )


def shell_in(environ: dict) -> bool:
    """``app.webview.in_shell`` from the environ alone."""
    from app.webview import SHELL_MARKER

    return SHELL_MARKER in environ.get("HTTP_USER_AGENT", "")


def signed_csrf_token(raw: str) -> str | None:
    """The signed token this process made for a session's raw token (app/csrf.py), if it has."""
    from app.csrf import signed_copy

    return signed_copy(raw)


def kept_page(app: Flask, key: str) -> str | None:
    from app.catalogue.caching import LOCAL

    local = app.extensions.get(LOCAL)
    if local is None or key not in local:
        return None
    local.move_to_end(key)
    return local[key]


def keep_page(app: Flask, key: str, page: str) -> None:
    from app.catalogue.caching import LOCAL, LOCAL_ENTRIES

    if app.config.get("CACHE_TYPE") == "NullCache":
        return
    local = app.extensions.setdefault(LOCAL, OrderedDict())
    local[key] = page
    if len(local) > LOCAL_ENTRIES:
        local.popitem(last=False)


def fill_fast(app: Flask, body: str, reader: object | None, token: str) -> str | None:
    """The stored page with its holes filled without Flask; None if one cannot be."""
    filled: dict[str, str] = {"csrf": token}
    missing = False

    def fill(match: re.Match) -> str:
        nonlocal missing
        name = match.group(1)
        if name not in filled:
            fast = FAST_HOLES.get(name)
            value = fast(app, reader) if fast is not None else None
            if value is None:
                missing = True
                value = ""
            filled[name] = value
        return filled[name]

    page = _PLACEHOLDER.sub(fill, body)
    return None if missing else page


def _page_key(reader: bool, versions: list, vary: str) -> str:
    return stored_page_key(
        request.endpoint, address_of(request.environ), reader, is_partial(), in_shell(), versions, vary
    )


class _SignedInReader(Reader):
    """The reader of this request, for a page's ``vary``: their memberships load when asked."""

    @property
    def memberships(self) -> dict:
        from app.accounts.user_cache import memberships_of

        return memberships_of(self.values["id"])


def _reader_now() -> Reader | None:
    from app.accounts.user_cache import reader_snapshot

    snapshot = reader_snapshot()
    if snapshot is None:
        return None
    return _SignedInReader(
        snapshot.values, snapshot.cart_count, snapshot.unread, snapshot.memberships, snapshot.generations
    )


def _serve(body: str) -> Response:
    filled: dict[str, str] = {}

    def fill(match: re.Match) -> str:
        name = match.group(1)
        if name not in filled:
            filled[name] = str(HOLES[name]())
        return filled[name]

    return Response(_PLACEHOLDER.sub(fill, body), mimetype="text/html")


def _recorded(response: Response) -> tuple[str, str]:
    """The page as this reader gets it (holes filled), and as it is stored (holes left open)."""
    body = response.get_data(as_text=True)
    # The token the page was rendered with, if it has one (Flask-WTF keeps it in ``g`` per request).
    token = g.get(current_app.config["WTF_CSRF_FIELD_NAME"])
    stored = _RECORDED_HOLE.sub(lambda m: f"\x00{m.group(1)}\x00", body)
    if token:
        stored = stored.replace(token, TOKEN_PLACEHOLDER)
    return _RECORDED_HOLE.sub(lambda m: m.group(2), body), stored


def cached_for_visitors(
    version_keys: Callable[[], list[str]], readers: bool = False, vary: Callable | None = None
) -> Callable:
    """Serve the view's page from the cache to visitors who are not signed in and, with
    ``readers=True``, to signed-in readers too (the page must mark what differs between them with
    ``hole()``: base.html does for its header).

    ``version_keys`` names the cache versions the page depends on (each an integer bumped on change).
    ``vary(app, reader, version_keys)`` names, as a string, what else the page differs by for a reader
    (``app.page_serving.Reader``, None for a visitor): their place in a club, say; None means the
    page is not to be cached for them. It must use only the reader's snapshot, so that the page
    can be answered before Flask too.
    """

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            if not current_app.config["PAGE_CACHE_SECONDS"] or not _shareable():
                return view(*args, **kwargs)
            reader = current_user.is_authenticated  # from the reader's cached snapshot: no query
            if reader and not readers:
                return view(*args, **kwargs)
            # Here, not at the top: the catalogue package's views import this module.
            from app.catalogue.caching import current_versions, lookup, store

            keys = version_keys()
            kind = ""
            if vary is not None:
                who = _reader_now() if reader else None
                kind = vary(current_app, who, keys) if who is not None or not reader else None
                if kind is None:
                    return view(*args, **kwargs)
            versions = current_versions(keys)
            key = _page_key(reader, versions, kind)
            learned = (request.endpoint, tuple(keys), readers, vary)
            stored = lookup(key)
            if stored is not None:
                request.environ[LEARN] = learned
                return _serve(stored)
            g.page_recording = True
            try:
                response = current_app.make_response(view(*args, **kwargs))
            finally:
                g.page_recording = False
            if response.direct_passthrough or response.is_streamed:
                return response
            shown, kept = _recorded(response)
            response.set_data(shown)
            if (
                response.status_code == 200
                and response.mimetype == "text/html"
                and "Set-Cookie" not in response.headers
                and _shareable()  # the view itself put nothing in the session (a flash, a cart)
                and not g.get("page_not_kept")
            ):
                store(key, kept, timeout=current_app.config["PAGE_CACHE_SECONDS"])
                request.environ[LEARN] = learned
            return response

        return wrapper

    return decorator
