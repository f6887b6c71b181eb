"""Absolute links come from BASE_URL, never from the request.

A link that leaves the site (an email, a Stripe return URL, the API's ``url`` fields, the web-session
link) built from the request's Host would follow whatever Host or X-Forwarded-Host a client sends:
a password-reset request with ``Host: evil.example`` would mail the victim a real reset link to
evil.example. Here every ``url_for(..., _external=True)``, in Python and in Jinja, and every
``url_for`` outside a request (jobs, CLI) is built against BASE_URL, in one place.
Relative links inside a page are unchanged.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urljoin, urlsplit

from flask import Flask, current_app
from flask.globals import _cv_request
from werkzeug.routing import BuildError, MapAdapter

ANCHOR_SAFE = "%!#$&'()*+,/:;=?@"  # as Flask quotes an anchor


class BookCommerce(Flask):
    """Flask whose absolute URLs always start with the configured public address."""

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
            return super().url_for(endpoint, _anchor=_anchor, _method=_method, _external=False, **values)
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
