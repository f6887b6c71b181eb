"""Absolute links come from BASE_URL, never from the request.

A link that leaves the site (an email, a Stripe return URL, the API's ``url`` fields, the web-session
link) built from the request's Host would follow whatever Host or X-Forwarded-Host a client sends:
a password-reset request with ``Host: evil.example`` would mail the victim a real reset link to
evil.example. Here every ``url_for(..., _external=True)``, in Python and in Jinja, and every
``url_for`` outside a request (jobs, CLI) is built against BASE_URL, in one place.
Relative links inside a page are unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

from flask import Flask, current_app
from flask.globals import _cv_request
from werkzeug.routing import BuildError, MapAdapter

ANCHOR_SAFE = "%!#$&'()*+,/:;=?@"  # as Flask quotes an anchor
KEPT_FUNCTIONS = 2_000  # hooks and views whose sync wrapper is remembered
KEPT_URLS = 20_000  # relative links remembered per process (a few MB at most)


class BookCommerce(Flask):
    """Flask whose absolute URLs always start with the configured public address."""

    def ensure_sync(self, func: Callable) -> Callable:
        """Flask asks, for every hook on every request, whether it is a coroutine function (an
        ``inspect`` walk of a few microseconds each); the answer never changes, so keep it."""
        known = self._sync_functions
        try:
            return known[func]
        except KeyError:
            sync = super().ensure_sync(func)
            # Hooks and views are a fixed set; should closures made per request (after_this_request)
            # come through, stop remembering rather than grow.
            if len(known) < KEPT_FUNCTIONS:
                known[func] = sync
            return sync
        except TypeError:  # an unhashable callable
            return super().ensure_sync(func)

    @cached_property
    def _sync_functions(self) -> dict[Callable, Callable]:
        return {}

    def _relative_url(self, req_ctx, endpoint: str, anchor: str | None, method: str | None, values: dict) -> str:
        """A link inside the site. The same endpoint and values always give the same path (the app
        has no URL defaults that depend on the request), and a page builds twenty or more of them
        (the menu, the footer, static files), so each process remembers up to ``KEPT_URLS``."""
        if endpoint[:1] == ".":  # relative to the request's blueprint: not shared between pages
            return super().url_for(endpoint, _anchor=anchor, _method=method, _external=False, **values)
        try:
            key = (endpoint, req_ctx.request.script_root, anchor, method, frozenset(values.items()))
            return self._relative_urls[key]
        except TypeError:  # a value that cannot be a key (a list): build it every time
            return super().url_for(endpoint, _anchor=anchor, _method=method, _external=False, **values)
        except KeyError:
            url = super().url_for(endpoint, _anchor=anchor, _method=method, _external=False, **values)
            if len(self._relative_urls) < KEPT_URLS:
                self._relative_urls[key] = url
            return url

    @cached_property
    def _relative_urls(self) -> dict[tuple, str]:
        return {}

    def public_url_adapter(self) -> MapAdapter:
        """The URL map bound to BASE_URL (its scheme, host, port and path prefix)."""
        parts = urlsplit(self.config["BASE_URL"])
        return self.url_map.bind(
            parts.netloc, script_name=parts.path.rstrip("/") or "/", url_scheme=parts.scheme or "https"
        )

    def url_for(
        self,
        /,
        endpoint: str,
        *,
        _anchor: str | None = None,
        _method: str | None = None,
        _scheme: str | None = None,
        _external: bool | None = None,
        **values: Any,
    ) -> str:
        req_ctx = _cv_request.get(None)
        in_request = req_ctx is not None and req_ctx.url_adapter is not None
        external = _external if _external is not None else (_scheme is not None or not in_request)
        if in_request and not external:
            return self._relative_url(req_ctx, endpoint, _anchor, _method, values)
        if _scheme is not None and not external:
            raise ValueError("When specifying '_scheme', '_external' must be True.")
        if req_ctx is not None and endpoint[:1] == ".":
            blueprint = req_ctx.request.blueprint
            endpoint = f"{blueprint}{endpoint}" if blueprint else endpoint[1:]
        self.inject_url_defaults(endpoint, values)
        try:
            url = self.public_url_adapter().build(
                endpoint, values, method=_method, url_scheme=_scheme, force_external=external
            )
        except BuildError as error:
            values.update(_anchor=_anchor, _method=_method, _scheme=_scheme, _external=external)
            return self.handle_url_build_error(error, endpoint, values)
        if _anchor is not None:
            url = f"{url}#{quote(_anchor, safe=ANCHOR_SAFE)}"
        return url


def public_url(path: str) -> str:
    """The absolute link to a site path stored without a host (a notification's link), from BASE_URL."""
    return urljoin(current_app.config["BASE_URL"].rstrip("/") + "/", path.lstrip("/"))
