"""Cached pages answered before Flask's own request handling.

``app/page_cache.py`` keeps whole pages in the cache for visitors and signed-in readers. Serving
one still cost a full trip through Flask (request context, session, Flask-Login, hooks, the view
wrapper, the response object): more than the page lookup itself. This WSGI middleware, inside the
security-headers and request-id middlewares, answers a request for a cached page directly when
it can prove the answer is the one Flask would give, and hands every other request to Flask.

It only takes an address this process has already answered through Flask from the page cache
(Flask marks those in the WSGI environ, with the page's endpoint, its version keys and its
headers), and only when:

- the method is GET or HEAD, with no body and no ``Authorization`` header, on a trusted host;
- the session cookie verifies and is not expired (the same check and per-process memory as
  ``app/session_cookie.py``), holds nothing but the sign-in and a CSRF token, and this process
  has already signed that CSRF token (``app/csrf.py``);
- a visitor sends no remember-me cookie; a signed-in reader's session passes Flask-Login's
  ``basic`` session protection unchanged, and their cached snapshot is current, names the same
  session version and an active account (``app/accounts/user_cache.py``);
- the page's versions, and the page built at those versions, are in the cache;
- every hole of the page can be filled here (``page_cache.register_hole(..., fast=...)``).

Whatever fails, Flask answers, as before. A page answered here is counted in the request metrics
under its endpoint, like any other.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Iterable
from hashlib import sha512
from http.cookies import SimpleCookie
from typing import Any

from flask import Flask
from itsdangerous import BadSignature
from werkzeug.sansio.utils import host_is_trusted

log = logging.getLogger(__name__)

# Set by the page cache on a request it answered from, or stored into, the cache: (endpoint,
# version keys, readers allowed, vary). The middleware learns the address from it.
LEARN = "bookcommerce.page_cache"
# Set by a view that counted the request against a rate limit: such an address is never answered
# here, where no limit would count it.
RATE_LIMITED = "bookcommerce.rate_limited"
# The headers Flask gives a cached page (the security headers and the request id are added around
# this middleware); an answer with any other header is not learned.
PLAIN_HEADERS = frozenset({"content-type", "content-length", "vary"})
KEPT_ADDRESSES = 4096
_FORWARDED = "HTTP_X_FORWARDED_FOR"


class Reader:
    """What a hole, or a page's ``vary``, may use of the signed-in reader asking (None for a
    visitor): their cached snapshot's row, counts and memberships (None when not loaded yet)."""

    def __init__(self, values: dict, cart_count: int, unread: int, memberships: dict | None, generations: tuple):
        self.values, self.cart_count, self.unread = values, cart_count, unread
        self._memberships = memberships
        self.generations = generations  # move on with any change to the reader (app/accounts/user_cache.py)

    @property
    def memberships(self) -> dict | None:
        return self._memberships


def login_identifier(environ: dict) -> str:
    """Flask-Login's ``_create_identifier`` for this request (its ``basic`` session protection
    compares it with the session's ``_id``), computed from the environ alone."""
    user_agent = environ.get("HTTP_USER_AGENT")
    if user_agent is not None:
        user_agent = user_agent.encode("latin-1").decode("utf-8", "replace").encode("utf-8")
    address = environ.get(_FORWARDED, environ.get("REMOTE_ADDR"))
    if address is not None:
        address = address.encode("latin-1").decode("utf-8", "replace").encode("utf-8").split(b",")[0].strip()
    return sha512(f"{address}|{user_agent}".encode()).hexdigest()


class PageServer:
    """WSGI middleware: answer cached pages without Flask when that is safe (see the module)."""

    def __init__(self, app: Flask, wsgi_app: Callable):
        self.app = app
        self.wsgi_app = wsgi_app
        self.addresses: OrderedDict[str, tuple] = OrderedDict()
        self.trusted: dict[str, bool] = {}

    # ---- Learning ------------------------------------------------------------------------

    def _learning(self, environ: dict, start_response: Callable, address: str) -> Iterable[bytes]:
        def start(status: str, headers: list[tuple[str, str]], exc_info=None):  # noqa: ANN001 - WSGI's signature
            learned = environ.get(LEARN)
            if learned is not None and status.startswith("200 ") and not environ.get(RATE_LIMITED):
                names = {name.lower() for name, _ in headers}
                if names <= PLAIN_HEADERS:
                    kept = [(n, v) for n, v in headers if n.lower() != "content-length"]
                    self.addresses[address] = (*learned, kept)
                    if len(self.addresses) > KEPT_ADDRESSES:
                        self.addresses.popitem(last=False)
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, start)

    # ---- Serving -------------------------------------------------------------------------

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD")
        if method != "GET" and method != "HEAD":
            return self.wsgi_app(environ, start_response)
        address = f"{environ.get('SCRIPT_NAME', '')}{environ.get('PATH_INFO', '')}?{environ.get('QUERY_STRING', '')}"
        entry = self.addresses.get(address)
        body = self._answer(environ, address, entry) if entry is not None else None
        if body is None:
            return self._learning(environ, start_response, address)
        endpoint, _, _, _, headers = entry
        encoded = body.encode()
        start_response("200 OK", [*headers, ("Content-Length", str(len(encoded)))])
        self._count(environ, endpoint, method)
        return [b""] if method == "HEAD" else [encoded]

    def _answer(self, environ: dict, address: str, entry: tuple) -> str | None:
        from app import page_cache

        if environ.get("HTTP_AUTHORIZATION") is not None or environ.get("CONTENT_LENGTH") not in (None, "", "0"):
            return None
        if not self._host_trusted(environ.get("HTTP_HOST", "")):
            return None
        app = self.app
        config = app.config
        if not config["PAGE_CACHE_SECONDS"]:
            return None
        session = self._session(environ)
        if session is None:
            return None
        raw_token = session.get(config["WTF_CSRF_FIELD_NAME"])
        signed_token = page_cache.signed_csrf_token(raw_token) if raw_token else None
        if signed_token is None:
            return None
        endpoint, version_keys, readers, vary, _ = entry
        backend = self.app.extensions["cache"]
        backend = next(iter(backend.values())) if backend else None
        if backend is None:
            return None
        user_id = session.get("_user_id")
        reader_keys: list[str] = []
        if user_id is not None:
            if not readers or not config.get("USER_CACHE_SECONDS"):
                return None
            if session.get("_id") != login_identifier(environ):
                return None  # Flask-Login would mark the session not fresh: a new cookie
            try:
                uid, session_version = (int(part) for part in user_id.split(":", 1))
            except ValueError:
                return None
            from app.accounts.user_cache import reader_keys_of

            reader_keys = reader_keys_of(uid)
        elif self._remember_cookie(environ):
            return None
        try:
            found = backend.get_many(*version_keys, *reader_keys)
        except Exception:  # noqa: BLE001 - Flask answers; a failure here is a bug to see in the log
            log.warning("page server: reading the versions failed, Flask answers", exc_info=True)
            return None
        versions = found[: len(version_keys)]
        if any(version is None for version in versions):
            return None
        reader = None
        if reader_keys:
            reader = _current_reader(found[len(version_keys) :], session_version)
            if reader is None:
                return None
        kind = vary(app, reader, version_keys) if vary is not None else ""
        if kind is None:
            return None
        partial, shell = page_cache.partial_in(environ), page_cache.shell_in(environ)
        key = page_cache.stored_page_key(endpoint, address, reader is not None, partial, shell, versions, kind)
        stored = page_cache.kept_page(app, key)
        if stored is None:
            try:
                stored = backend.get(key)
            except Exception:  # noqa: BLE001 - as above
                log.warning("page server: reading the page failed, Flask answers", exc_info=True)
                return None
            if stored is None:
                return None
            page_cache.keep_page(app, key, stored)
        return page_cache.fill_fast(app, stored, reader, signed_token)

    def _session(self, environ: dict) -> dict | None:
        from app.session_cookie import cookie_data

        cookies = environ.get("HTTP_COOKIE")
        if not cookies:
            return None  # a first visit: Flask gives it a session
        name = self.app.config["SESSION_COOKIE_NAME"]
        if name not in cookies:
            return None
        try:
            jar = SimpleCookie(cookies)
        except Exception:  # noqa: BLE001 - a cookie header the standard library cannot read: Flask decides
            return None
        morsel = jar.get(name)
        if morsel is None:
            return None
        try:
            data = cookie_data(self.app, morsel.value)
        except BadSignature:
            return None
        from app.page_cache import SHAREABLE_SESSION_KEYS

        if data is None or not SHAREABLE_SESSION_KEYS.issuperset(data) or "_remember" in data:
            return None
        environ["bookcommerce.cookies"] = jar
        return data

    def _remember_cookie(self, environ: dict) -> bool:
        from flask_login.config import COOKIE_NAME

        name = self.app.config.get("REMEMBER_COOKIE_NAME", COOKIE_NAME)
        return name in environ["bookcommerce.cookies"]

    def _host_trusted(self, host: str) -> bool:
        known = self.trusted.get(host)
        if known is None:
            trusted = self.app.config.get("TRUSTED_HOSTS")
            known = bool(host) and (not trusted or host_is_trusted(host, trusted))
            if len(self.trusted) < 1024:
                self.trusted[host] = known
        return known

    def _count(self, environ: dict, endpoint: str, method: str) -> None:
        from app.observability.metrics import count_request

        count_request(endpoint, method, 200, environ)


def _current_reader(found: list, session_version: int) -> Reader | None:
    """The signed-in reader from their cached snapshot, if it is current and lets them in, as
    ``app.accounts.sessions.load_user`` would."""
    from app.accounts.user_cache import current_snapshot

    snapshot = current_snapshot(*found)
    if snapshot is None:
        return None
    values = snapshot.values
    if values.get("session_version") != session_version or values.get("is_disabled") or values.get("deleted_at"):
        return None
    return Reader(values, snapshot.cart_count, snapshot.unread, snapshot.memberships, snapshot.generations)


def serve_cached_pages(app: Flask) -> Any:
    """Put the page server right around Flask (inside the security headers and request ids)."""
    app.wsgi_app = PageServer(app, app.wsgi_app)
    return app.wsgi_app
