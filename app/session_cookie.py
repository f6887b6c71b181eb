"""The session cookie: signed with its own key, ``Secure`` over HTTPS, verified once per process.

Flask keeps the session in a signed cookie. Checking the signature (itsdangerous: base64, HMAC,
JSON) cost about 40 µs on every request, as much as the rest of Flask's own work; a browser sends
the same cookie value again and again until the session changes. So each process remembers the
values it has verified (an LRU of 4,096), with the time they were signed, and gives every request
its own copy of the data. The age limit is checked on every request, as Flask does; a value never
seen, or changed by a single byte, is verified in full.
"""

from __future__ import annotations

import copy
import time
from functools import lru_cache

from flask import Flask, Request, has_request_context, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from itsdangerous import BadSignature, URLSafeTimedSerializer

from app.keys import SESSION, derive_key


class HttpsAwareSessionInterface(SecureCookieSessionInterface):
    """The session cookie is ``Secure`` when configured so, and always when the request came over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return super().get_cookie_secure(app) or (has_request_context() and request.is_secure)

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        # The session signs with its own key derived from SECRET_KEY (app/keys.py), not SECRET_KEY itself.
        # Built once per key, not on every request (it derives a key with HMAC each time).
        return _session_serializer(app.secret_key, self.salt) if app.secret_key else None

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        value = request.cookies.get(self.get_cookie_name(app))
        if not value:
            return self.session_class()
        try:
            data = cookie_data(app, value)
        except BadSignature:
            return self.session_class()
        # A copy: the remembered data stays as it was.
        return self.session_class(copy.deepcopy(data)) if data is not None else self.session_class()


def cookie_data(app: Flask, value: str) -> dict | None:
    """The data of a session cookie value, as this process remembers it (not to be changed);
    None once it has expired, as ``loads(max_age=...)`` would have said; ``BadSignature`` if it
    is not one of ours."""
    if not app.secret_key:
        raise BadSignature("no secret key")
    serializer = _session_serializer(app.secret_key, app.session_interface.salt)
    data, signed_at = _verified(serializer, value)
    if time.time() - signed_at > app.permanent_session_lifetime.total_seconds():
        return None
    return data


@lru_cache(maxsize=4)
def _session_serializer(secret_key: str | bytes, salt: str) -> URLSafeTimedSerializer:
    interface = SecureCookieSessionInterface
    return URLSafeTimedSerializer(
        derive_key(secret_key, SESSION),
        salt=salt,
        serializer=interface.serializer,
        signer_kwargs={"key_derivation": interface.key_derivation, "digest_method": interface.digest_method},
    )


@lru_cache(maxsize=4096)
def _verified(serializer: URLSafeTimedSerializer, value: str) -> tuple[dict, float]:
    """The data of a cookie value whose signature is good, and when it was signed (raises
    ``BadSignature`` otherwise; failures are not remembered)."""
    data, signed_at = serializer.loads(value, return_timestamp=True)
    return data, signed_at.timestamp()
