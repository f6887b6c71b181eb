"""Error pages for the site, RFC 9457 problem details under /api/."""

import logging

from flask import Flask, jsonify, make_response, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from app.htmx import is_partial

log = logging.getLogger(__name__)

PAGES = {400, 403, 404, 405, 413, 429, 500}

FRIENDLY = {
    400: "That request could not be understood.",
    403: "You do not have permission to do that.",
    404: "We could not find that page.",
    405: "That action is not allowed here.",
    413: "That upload is too large.",
    429: "Too many attempts. Please wait a minute and try again.",
    500: "Something went wrong on our side. We have been told and will fix it.",
}


class BadInput(HTTPException):
    """A 400 or 422 whose message says exactly what to fix: shown as it is, with a field map under /api/."""

    def __init__(self, status: int, detail: str, errors: dict[str, list[str]] | None = None):
        super().__init__(description=detail)
        self.code = status
        self.errors = errors


def wants_problem_json() -> bool:
    return request.path.startswith("/api/")


def problem(status: int, title: str, detail: str, **extra):
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response


def handle_http_error(exc: HTTPException):
    status = exc.code or 500
    detail = FRIENDLY.get(status, exc.description)
    extra = {}
    if isinstance(exc, BadInput):
        detail = exc.description
        extra = {"errors": exc.errors} if exc.errors else {}
    elif isinstance(exc, CSRFError):
        detail = "This form has expired. Reload the page and try again; nothing was saved."
    elif status == 429:
        detail = f"Too many attempts ({exc.description}). Please wait a little and try again."
    if wants_problem_json():
        response = problem(status, exc.name, detail, **extra)
    else:
        template = f"errors/{status}.html" if status in PAGES else "errors/generic.html"
        response = make_response(render_template(template, status=status, title=exc.name, detail=detail), status)
        if is_partial():
            # htmx swaps error answers too: without this, a form would swap the whole page into itself.
            response.headers.update({"HX-Retarget": "#main", "HX-Reselect": "#main", "HX-Reswap": "outerHTML"})
    if status == 405 and hasattr(exc, "valid_methods") and exc.valid_methods:
        response = make_response(response)
        response.headers["Allow"] = ", ".join(exc.valid_methods)
    return response


def handle_unexpected(exc: Exception):
    original = getattr(exc, "original_exception", exc)
    log.exception("unhandled error on %s %s", request.method, request.path, exc_info=original)
    return handle_http_error(InternalServerError())


def handle_payments_unavailable(exc):
    """A view that let the open payments breaker through (app/breakers.py): a 503 saying so,
    with Retry-After; the views that start a payment show where the saved order waits instead."""
    from app.payments.views import payments_unavailable

    if not wants_problem_json():
        return payments_unavailable(exc)
    detail = "Payments are unavailable for a minute: nothing was charged, and what you were paying for is saved."
    response = problem(503, "Service Unavailable", detail)
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


def register(app: Flask) -> None:
    from app.payments.gateway import PaymentsUnavailable

    app.register_error_handler(PaymentsUnavailable, handle_payments_unavailable)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(InternalServerError, handle_unexpected)
