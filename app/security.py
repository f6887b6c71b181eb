"""Security headers and the proxy in front of the app.

Behind nginx the app sees plain HTTP from 127.0.0.1; ``ProxyFix`` restores the client's address
and scheme from the last proxy hop only (``PROXY_COUNT``, 0 when reached directly), so a client
cannot pick its own. X-Forwarded-Host is never believed, and a request for a Host name that is not in
``TRUSTED_HOSTS`` is refused with a 400 before any view runs (links never follow the Host anyway:
app/urls.py builds them from BASE_URL).
Whether a request is HTTPS is decided from that: HSTS and ``Secure`` cookies follow
``request.is_secure``. Talisman never redirects to HTTPS itself: the proxy terminates TLS and
redirects plain HTTP.
"""

from flask import Flask, Response, abort, has_request_context, request
from flask.sessions import SecureCookieSessionInterface
from flask_talisman import Talisman
from itsdangerous import URLSafeTimedSerializer
from werkzeug.exceptions import SecurityError
from werkzeug.middleware.proxy_fix import ProxyFix

from app.keys import SESSION, derive_key

# No inline script or style anywhere: htmx runs with includeIndicatorCSS and allowEval off.
CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data: https:",
    "connect-src": "'self'",
    "frame-ancestors": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "object-src": "'none'",
}
PERMISSIONS_POLICY = {"browsing-topics": "()", "camera": "()", "microphone": "()", "geolocation": "()"}
HSTS = "max-age=31536000; includeSubDomains"


def register_security(app: Flask) -> None:
    """Trust the proxy, refuse unknown hosts, and send the security headers.

    Rate limits are declared on the views themselves (``limiter.limit``/``shared_limit``)."""
    trust_proxy(app)
    # First of all before-request hooks: nothing (rate limits, sessions, views) runs for an unknown Host.
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_untrusted_host)
    Talisman(
        app,
        force_https=False,  # nginx redirects HTTP to HTTPS; the app never sees the client's TLS
        strict_transport_security=False,  # sent by add_hsts, from the scheme ProxyFix restored
        session_cookie_secure=False,  # see HttpsAwareSessionInterface
        session_cookie_samesite=app.config.get("SESSION_COOKIE_SAMESITE", "Lax"),
        content_security_policy=CONTENT_SECURITY_POLICY,
        permissions_policy=PERMISSIONS_POLICY,
        frame_options="DENY",
        referrer_policy="strict-origin-when-cross-origin",
    )
    app.session_interface = HttpsAwareSessionInterface()
    app.after_request(add_hsts)


def trust_proxy(app: Flask) -> None:
    hops = app.config.get("PROXY_COUNT", 0)
    if hops:
        # x_host=0: the Host header nginx passes is the one checked against TRUSTED_HOSTS.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=0)


def refuse_untrusted_host() -> None:
    # Flask (TRUSTED_HOSTS) records the refusal as the routing error, raised only after the
    # before-request hooks; raise it here instead, as the 400 error page or problem+json.
    if isinstance(request.routing_exception, SecurityError):
        abort(400)


def add_hsts(response: Response) -> Response:
    # Only over HTTPS (RFC 6797 §7.2): a plain-HTTP answer cannot be trusted to set it.
    if request.is_secure:
        response.headers["Strict-Transport-Security"] = HSTS
    return response


class HttpsAwareSessionInterface(SecureCookieSessionInterface):
    """The session cookie is ``Secure`` when configured so, and always when the request came over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return super().get_cookie_secure(app) or (has_request_context() and request.is_secure)

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        # The session signs with its own key derived from SECRET_KEY (app/keys.py), not SECRET_KEY itself.
        if not app.secret_key:
            return None
        return URLSafeTimedSerializer(
            derive_key(app.secret_key, SESSION),
            salt=self.salt,
            serializer=self.serializer,
            signer_kwargs={"key_derivation": self.key_derivation, "digest_method": self.digest_method},
        )
