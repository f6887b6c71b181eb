"""What every API endpoint shares: bearer auth, problem details, pages with Link headers, ETags."""

from __future__ import annotations

import functools
import hashlib
from copy import deepcopy
from http import HTTPStatus

from flask import g, make_response, request, url_for
from flask_login import AnonymousUserMixin
from marshmallow.utils import missing
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import HTTPException
from werkzeug.routing import BaseConverter

from app.accounts.refresh_tokens import TokenInvalid, user_for_access_token
from app.errors import problem

SECURED = [{"bearer": []}]
LIST_HEADERS = {
    "Link": {"description": "first, prev, next and last pages", "schema": {"type": "string"}},
    "X-Total-Count": {"description": "Items in the whole list", "schema": {"type": "string", "pattern": "^[0-9]+$"}},
}


class ApiError(HTTPException):
    """An error answered as problem details, with an optional field map for validation errors."""

    def __init__(self, status: int, title: str, detail: str, errors: dict[str, list[str]] | None = None):
        super().__init__(description=detail)
        self.code = status
        self.title = title
        self.errors = errors

    def get_response(self, environ=None, scope=None):
        extra = {"errors": self.errors} if self.errors else {}
        response = problem(self.code, self.title, self.description, **extra)
        if self.code == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="bookcommerce"'
        return response


def invalid(errors: dict[str, list[str]], detail: str = "Some fields are not valid.") -> ApiError:
    return ApiError(422, "Unprocessable Content", detail, errors)


def not_found(detail: str) -> ApiError:
    return ApiError(404, "Not Found", detail)


def conflict(detail: str, errors: dict[str, list[str]] | None = None) -> ApiError:
    return ApiError(409, "Conflict", detail, errors)


def field_map(messages) -> dict[str, list[str]]:
    """marshmallow's messages by location (json, query) as one map of field → messages."""
    errors: dict[str, list[str]] = {}

    def flatten(value) -> list[str]:
        if isinstance(value, dict):
            return [text for item in value.values() for text in flatten(item)]
        return [str(value)] if isinstance(value, str) else [t for item in value for t in flatten(item)]

    for by_field in messages.values():
        for name, value in by_field.items():
            errors.setdefault("body" if name == "_schema" else name, []).extend(flatten(value))
    return errors


def validation_problem(error: HTTPException):
    """webargs refused the request: one 422 naming every bad field."""
    return invalid(field_map(getattr(error, "data", {}).get("messages", {}))).get_response()


class Parser(FlaskParser):
    """The request's JSON object through Flask's own decoding; anything else but nothing is a 400."""

    def _raw_load_json(self, req):
        if not req.get_data(cache=True):
            return missing
        data = req.get_json(silent=True)
        if not isinstance(data, dict):
            raise ApiError(400, "Bad Request", "Send a JSON object with Content-Type: application/json.")
        return data


class SlugConverter(BaseConverter):
    """A club's slug in a path: anything else is not a club (404 before the view)."""

    regex = r"[a-z0-9-]{1,80}"


def _documented(wrapper, view, *statuses: int, **doc):
    """Copy the view's API doc onto ``wrapper``, adding ``doc`` and problem ``statuses`` (flask-smorest
    reads ``_apidoc``)."""
    wrapper._apidoc = deepcopy(getattr(view, "_apidoc", {}))
    for key, value in doc.items():
        wrapper._apidoc.setdefault("manual_doc", {})[key] = value
    responses = wrapper._apidoc.setdefault("response", {}).setdefault("responses", {})
    for status in statuses:
        responses.setdefault(status, []).append(HTTPStatus(status).name)
    return wrapper


def problems(*statuses: int):
    """Document the problems (4xx) a view may answer."""
    return lambda view: _documented(functools.wraps(view)(lambda *a, **k: view(*a, **k)), view, *statuses)


def _authenticate() -> None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "Unauthorized", "Send an access token: Authorization: Bearer <token>.")
    try:
        g.api_user = user_for_access_token(token.strip())
    except TokenInvalid as exc:
        raise ApiError(401, "Unauthorized", str(exc)) from None


def token_required(view):
    """Authorise the call with the ``Authorization: Bearer`` access token (never a cookie)."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        _authenticate()
        return view(*args, **kwargs)

    return _documented(wrapper, view, 401, security=SECURED)


def optional_token(view):
    """Like ``token_required`` when a token is sent; anonymous otherwise."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        g.api_user = None
        if request.headers.get("Authorization"):
            _authenticate()
        return view(*args, **kwargs)

    return _documented(wrapper, view, 401, security=[*SECURED, {}])


def viewer():
    """The reader the token names; never the cookie's (the API ignores web sessions)."""
    return g.get("api_user") or AnonymousUserMixin()


def page(rows: list, total: int, number: int, per_page: int, endpoint: str, **args):
    """A list page and its ``Link`` (first, prev, next, last) and ``X-Total-Count`` headers."""
    pages = max(1, -(-total // per_page))
    links = {"first": 1, "last": pages}
    if number > 1:
        links["prev"] = number - 1
    if number < pages:
        links["next"] = number + 1
    link = ", ".join(
        f'<{url_for(endpoint, page=n, per_page=per_page, _external=True, **args)}>; rel="{rel}"'
        for rel, n in links.items()
    )
    body = {"items": rows, "page": number, "per_page": per_page, "total": total, "pages": pages}
    return body, {"Link": link, "X-Total-Count": str(total)}


def page_in_memory(rows: list, number: int, per_page: int, endpoint: str, **args):
    """A page of a short list already in memory (past the end: the last)."""
    number = min(number, max(1, -(-len(rows) // per_page)))
    return page(rows[(number - 1) * per_page : number * per_page], len(rows), number, per_page, endpoint, **args)


def conditional(response):
    """A strong ETag over the response body; 304 when the client already has this version."""
    response.set_etag(hashlib.sha256(response.get_data()).hexdigest()[:32])
    response.headers["Cache-Control"] = "no-cache"
    return response.make_conditional(request)


def etagged(view):
    """The answer with an ETag (and 304 for ``If-None-Match``), documented as such."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        return conditional(make_response(view(*args, **kwargs)))

    wrapper = _documented(wrapper, view)
    wrapper._apidoc["etag"] = True
    return wrapper
