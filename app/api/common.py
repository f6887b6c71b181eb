"""What every API endpoint shares: bearer auth, problem details, pages with Link headers, ETags."""

from __future__ import annotations

import functools
import hashlib
from typing import Any

from flask import g, jsonify, request, url_for
from werkzeug.exceptions import HTTPException

from app.api.tokens import TokenInvalid, user_for_access_token
from app.errors import problem

MAX_PER_PAGE = 100


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


def token_required(view):
    """Authorise the call with the ``Authorization: Bearer`` access token (never a cookie)."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "Unauthorized", "Send an access token: Authorization: Bearer <token>.")
        try:
            g.api_user = user_for_access_token(token.strip())
        except TokenInvalid as exc:
            raise ApiError(401, "Unauthorized", str(exc)) from None
        return view(*args, **kwargs)

    return wrapper


def optional_token(view):
    """Like ``token_required`` when a token is sent; anonymous otherwise."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        g.api_user = None
        if request.headers.get("Authorization"):
            return token_required(view)(*args, **kwargs)
        return view(*args, **kwargs)

    return wrapper


def json_body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, "Bad Request", "Send a JSON object with Content-Type: application/json.")
    return data


def page_args() -> tuple[int, int]:
    errors: dict[str, list[str]] = {}
    try:
        page = int(request.args.get("page", 1))
        if page < 1:
            raise ValueError
    except ValueError:
        errors["page"] = ["Must be a whole number of at least 1."]
        page = 1
    try:
        per_page = int(request.args.get("per_page", 20))
        if not 1 <= per_page <= MAX_PER_PAGE:
            raise ValueError
    except ValueError:
        errors["per_page"] = [f"Must be a whole number from 1 to {MAX_PER_PAGE}."]
        per_page = 20
    if errors:
        raise invalid(errors)
    return page, per_page


def paginated(items: list, total: int, page: int, per_page: int, endpoint: str, **args):
    """A JSON list page with ``Link`` (first, prev, next, last) and ``X-Total-Count`` headers."""
    pages = max(1, -(-total // per_page))
    links = {"first": 1, "last": pages}
    if page > 1:
        links["prev"] = page - 1
    if page < pages:
        links["next"] = page + 1
    response = jsonify(items=items, page=page, per_page=per_page, total=total, pages=pages)
    response.headers["Link"] = ", ".join(
        f'<{url_for(endpoint, page=n, per_page=per_page, _external=True, **args)}>; rel="{rel}"'
        for rel, n in links.items()
    )
    response.headers["X-Total-Count"] = str(total)
    return response


def conditional(response):
    """A strong ETag over the response body; 304 when the client already has this version."""
    response.set_etag(hashlib.sha256(response.get_data()).hexdigest()[:32])
    response.headers["Cache-Control"] = "no-cache"
    return response.make_conditional(request)


def with_etag(payload: Any):
    """A JSON response with a strong ETag; 304 when the client already has it."""
    return conditional(jsonify(payload))
