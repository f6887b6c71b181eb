"""htmx 4 helpers: fragment or page, redirects that work for both, toasts."""

import json

from flask import Response, redirect, render_template, request


def is_partial() -> bool:
    """True for an htmx request that swaps part of the page (not boosted, not a history restore)."""
    headers = request.headers
    return (
        headers.get("HX-Request") == "true"
        and headers.get("HX-Request-Type", "partial") == "partial"
        and headers.get("HX-Boosted") != "true"
        and headers.get("HX-History-Restore-Request") != "true"
    )


def render_page_or_fragment(page: str, fragment: str, status: int = 200, **context) -> tuple[str, int]:
    """The whole page, or just ``fragment`` for a partial htmx request (one template per piece)."""
    return render_template(fragment if is_partial() else page, **context), status


def redirect_after_post(location: str) -> Response:
    """POST/redirect/GET: a 303 for a plain form, ``HX-Redirect`` for an htmx one."""
    if request.headers.get("HX-Request") == "true":
        response = Response(status=200)
        response.headers["HX-Redirect"] = location
        return response
    return redirect(location, code=303)


def trigger(response: Response, event: str, detail: dict | None = None) -> Response:
    """Add a client event to the ``HX-Trigger`` header (several events can be combined)."""
    events = json.loads(response.headers.get("HX-Trigger", "{}"))
    events[event] = detail or {}
    response.headers["HX-Trigger"] = json.dumps(events)
    return response


def add_toast(response: Response, message: str, level: str = "success") -> Response:
    return trigger(response, "toast", {"message": message, "level": level})


def refresh_flashes(response: Response) -> Response:
    """After an htmx form post answered with a fragment, replace the page's flash box out of band.

    The messages on screen belonged to the page before the post; messages flashed since show now
    (and so are consumed here, not on some later page). Redirects and full pages carry their own.
    """
    if (
        request.method == "GET"
        or not is_partial()
        or response.mimetype != "text/html"
        or response.status_code in (204, 304)
        or 300 <= response.status_code < 400
        or response.is_streamed
        or response.direct_passthrough
        or "HX-Redirect" in response.headers
        or "HX-Location" in response.headers
        or "HX-Refresh" in response.headers
    ):
        return response
    body = response.get_data(as_text=True)
    if 'id="flashes"' not in body:
        response.set_data(body + render_template("_flashes.html", oob=True))
    return response


# What an HTML answer can differ by; other modules add theirs (the webview adds User-Agent).
HTML_VARY = ["HX-Request"]


def vary_html_on(header: str) -> None:
    if header not in HTML_VARY:
        HTML_VARY.append(header)


def add_vary_header(response: Response) -> Response:
    """HTML can differ by ``HX-Request`` (and what ``vary_html_on`` added); caches must know.

    One header write per answer: ``response.vary.add`` parses and rebuilds the header on each call.
    """
    if response.headers.get("Content-Type", "").startswith("text/html"):  # cheaper than .mimetype
        tokens = HTML_VARY
    elif "HTTP_HX_REQUEST" in request.environ:
        tokens = HTML_VARY[:1]
    else:
        return response
    current = response.headers.get("Vary")
    if current:
        present = {token.strip().lower() for token in current.split(",")}
        tokens = [current, *(token for token in tokens if token.lower() not in present)]
    response.headers["Vary"] = ", ".join(tokens)
    return response
