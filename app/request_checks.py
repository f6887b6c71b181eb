"""Input no view should ever see, refused for the whole app before any view runs.

- **JSON nested too deeply.** The json module parses nesting by recursion: a body nested a few
  thousand levels deep raises ``RecursionError``, which is not the ``ValueError`` Werkzeug turns
  into a 400, so it was a 500. ``AppRequest.get_json`` answers 400 with a message instead, for
  every caller (``silent=True`` included: the body is not "absent", it is refused).
- **NUL characters in text** (``\\x00`` in a query argument, a form field or any string of a JSON
  body, names included). PostgreSQL cannot store them in text and raises at the database; SQLite
  stores them and later pages, emails and exports carry them. Refused with 422 on both, naming
  the field, before any form or service sees them. One check for every form, search and API body,
  so no form can forget it; a NUL in the URL path is a 404 (no page has such an address).

Endpoints that read their raw body themselves (the signed Stripe webhook) skip the body checks.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Request, abort, request

from app.errors import BadInput

NUL = "\x00"
# Views that verify a signature over the exact bytes and parse the body themselves.
RAW_BODY_ENDPOINTS = ("payments.stripe_webhook",)


class AppRequest(Request):
    """Flask's request, whose JSON parsing refuses too-deep nesting with a 400 instead of crashing."""

    def get_json(self, force: bool = False, silent: bool = False, cache: bool = True) -> Any | None:
        try:
            return super().get_json(force=force, silent=silent, cache=cache)
        except RecursionError:
            raise BadInput(400, "The JSON body is nested too deeply to read; send a flatter document.") from None


def _nul_in_json(value: Any) -> str | None:
    """The dotted path of the first string (or key) in ``value`` holding a NUL, else None.

    Iterative, so a body nested close to the parser's limit cannot exhaust the stack here.
    """
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            if NUL in item:
                return path or "body"
        elif isinstance(item, dict):
            for key, child in item.items():
                name = f"{path}.{key}" if path else str(key)
                if NUL in key:
                    return name.replace(NUL, "\\0")
                stack.append((name, child))
        elif isinstance(item, list):
            stack.extend((f"{path}[{index}]", child) for index, child in enumerate(item))
    return None


def _nul_field() -> str | None:
    """The name of the first field of this request whose text holds a NUL, else None."""
    for source in (request.args,) if request.endpoint in RAW_BODY_ENDPOINTS else (request.args, request.form):
        for name, value in source.items(multi=True):
            if NUL in name or NUL in value:
                return name.replace(NUL, "\\0")
    if request.endpoint not in RAW_BODY_ENDPOINTS and request.is_json:
        return _nul_in_json(request.get_json(silent=True))
    return None


def _may_hold_nul(environ: dict) -> bool:
    """Whether the query string or a body could hold a NUL: most requests are a GET with neither,
    and parsing their arguments only to find nothing cost more than the rest of the hooks."""
    query = environ.get("QUERY_STRING", "")
    if "%00" in query or NUL in query:
        return True
    return environ.get("CONTENT_LENGTH", "") not in ("", "0") or "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "")


def refuse_nul_characters() -> None:
    """Before every view: a NUL in the path is a 404; in a field, a 422 naming the field.

    The API's fields refuse NULs themselves (``app.api.fields.Text``, stated in its contract), and
    it ignores fields it does not know, so its requests are left to its shapes.
    """
    if NUL in request.path:
        abort(404)
    if request.blueprint == "api" or not _may_hold_nul(request.environ):
        return
    field = _nul_field()
    if field is not None:
        message = f"“{field}” contains a NUL character (\\0), which text cannot hold. Remove it and send again."
        raise BadInput(422, message, errors={field: ["Must not contain NUL characters (\\0)."]})


def register_request_checks(app: Flask) -> None:
    app.request_class = AppRequest
    app.before_request(refuse_nul_characters)
