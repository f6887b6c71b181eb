"""CSRF tokens for templates, signed once per session token and process.

Flask-WTF keeps a random token in the session and puts a signed copy of it in every form (and in
the page's htmx headers). Signing it again on every page cost about 40 µs; with tokens that live as
long as the session (``WTF_CSRF_TIME_LIMIT = None``) every signed copy is as good as the first, so
each process keeps the one it made for a session token (an LRU of 4,096). Tokens are still checked
by Flask-WTF, unchanged. With a time limit configured, every page signs afresh, as before.
"""

from __future__ import annotations

from collections import OrderedDict

from flask import Flask, current_app, g, session
from flask_wtf.csrf import generate_csrf

_signed: OrderedDict[str, str] = OrderedDict()
KEEP = 4096


def csrf_token() -> str:
    """The signed CSRF token of this session (made, with the session's token, when missing)."""
    config = current_app.config
    field = config["WTF_CSRF_FIELD_NAME"]
    raw = session.get(field)
    if raw is None or config["WTF_CSRF_TIME_LIMIT"] is not None:
        return generate_csrf()
    signed = _signed.get(raw)
    if signed is None:
        signed = _signed[raw] = generate_csrf()
        if len(_signed) > KEEP:
            _signed.popitem(last=False)
    setattr(g, field, signed)  # where Flask-WTF itself keeps the request's token
    return signed


def signed_copy(raw: str) -> str | None:
    """The signed token this process already made for the session token ``raw``, if any."""
    return _signed.get(raw)


def install_csrf_token(app: Flask) -> None:
    """Templates' ``csrf_token()`` is this one (Flask-WTF's stays for forms and checks)."""
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.context_processor(lambda: {"csrf_token": csrf_token})
