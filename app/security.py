"""Security headers and the proxy in front of the app.

Behind nginx the app sees plain HTTP from 127.0.0.1; ``ProxyFix`` restores the client's address
and scheme from the last proxy hop only (``PROXY_COUNT``, 0 when reached directly), so a client
cannot pick its own. X-Forwarded-Host is never believed, and a request for a Host name that is not in
``TRUSTED_HOSTS`` is refused with a 400 before any view runs (links never follow the Host anyway:
app/urls.py builds them from BASE_URL).
Whether a request is HTTPS is decided from that: HSTS and ``Secure`` cookies follow
``request.is_secure``. The app never redirects to HTTPS itself: the proxy terminates TLS and
redirects plain HTTP.

The security headers are the same on every answer, so they are built once, when the app starts,
and added by a small WSGI middleware (``SecurityHeaders``) as the answer leaves. Flask-Talisman
did the same per request in Python (parsing the policy dictionaries on every answer): about a
tenth of a hello-world's whole cost under gunicorn (bench/README.md).
"""

from collections.abc import Callable, Iterable

from flask import Flask, abort, request
from werkzeug.exceptions import SecurityError
from werkzeug.middleware.proxy_fix import ProxyFix

from app.csrf import install_csrf_token
from app.session_cookie import HttpsAwareSessionInterface

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


def security_headers() -> list[tuple[str, str]]:
    """The headers every answer carries (HSTS aside: it depends on the scheme)."""
    return [
        ("Content-Security-Policy", "; ".join(f"{name} {value}" for name, value in CONTENT_SECURITY_POLICY.items())),
        ("Permissions-Policy", ", ".join(f"{name}={value}" for name, value in PERMISSIONS_POLICY.items())),
        ("X-Frame-Options", "DENY"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "strict-origin-when-cross-origin"),
    ]


class SecurityHeaders:
    """WSGI middleware: add the precomputed security headers to every answer, unless the app set
    one itself; ``Strict-Transport-Security`` only over HTTPS (RFC 6797 §7.2: a plain-HTTP answer
    cannot be trusted to set it). Inside ``ProxyFix``, so the scheme is the proxy's word."""

    def __init__(self, wsgi_app: Callable, headers: list[tuple[str, str]]):
        self.wsgi_app = wsgi_app
        self.headers = headers
        self.names = {name.lower() for name, _ in headers}

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        def start(status: str, headers: list[tuple[str, str]], exc_info=None):  # noqa: ANN001 - WSGI's signature
            own = {name.lower() for name, _ in headers} & self.names
            headers.extend([h for h in self.headers if h[0].lower() not in own] if own else self.headers)
            if environ.get("wsgi.url_scheme") == "https":
                headers.append(("Strict-Transport-Security", HSTS))
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, start)


def register_security(app: Flask) -> None:
    """Trust the proxy, refuse unknown hosts, and send the security headers.

    Rate limits are declared on the views themselves (``limiter.limit``/``shared_limit``)."""
    app.wsgi_app = SecurityHeaders(app.wsgi_app, security_headers())
    trust_proxy(app)  # outermost: the headers middleware sees the scheme the proxy reported
    # First of all before-request hooks: nothing (rate limits, sessions, views) runs for an unknown Host.
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_untrusted_host)
    app.session_interface = HttpsAwareSessionInterface()
    install_csrf_token(app)
    limit_only_decorated_views(app)
    csrf_on_unsafe_methods_only(app)


def limit_only_decorated_views(app: Flask) -> None:
    """Run Flask-Limiter's per-request work only for the views that declare a limit.

    Every limit here is declared on its view (``limiter.limit``/``shared_limit``); a decorated
    view checks its limits itself when the before-request check has not (Flask-Limiter's
    ``in_middleware=False`` path). The app-wide hooks (a check before, rate-limit headers after,
    a context reset at teardown) only cost time on the pages without a limit, so they are kept for
    the limited endpoints alone. Should default or application-wide limits be configured one day,
    the hooks stay as Flask-Limiter registered them.
    """
    from app.catalogue.limits import LIMITER_MARK
    from app.extensions import limiter

    manager = limiter.limit_manager
    if manager.default_limits or manager.application_limits:
        return
    limited = {
        endpoint
        for endpoint, view in app.view_functions.items()
        if getattr(view, LIMITER_MARK, None) == limiter  # ==: the mark is a weakref.proxy of the limiter
    }

    def only_when_limited(hook: Callable) -> Callable:
        def gated(*args):
            if request.endpoint in limited:
                return hook(*args)
            return args[0] if args else None  # an after-request hook hands the response on

        return gated

    def is_limiter_hook(hook: Callable) -> bool:
        target = getattr(hook, "func", hook)  # the after-request hook is a functools.partial
        return getattr(target, "__self__", None) is limiter or getattr(hook, "args", (None,))[0] is limiter

    before = app.before_request_funcs.get(None, [])
    before[:] = [hook for hook in before if not is_limiter_hook(hook)]
    for hooks in (app.after_request_funcs.get(None, []), app.teardown_request_funcs.get(None, [])):
        hooks[:] = [only_when_limited(hook) if is_limiter_hook(hook) else hook for hook in hooks]


def csrf_on_unsafe_methods_only(app: Flask) -> None:
    """Flask-WTF's own check looks up the view's exemptions before the method on every request;
    as its documentation allows (``WTF_CSRF_CHECK_DEFAULT = False``), check here instead, and
    only the methods that can change something."""
    from app.extensions import csrf

    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    methods = frozenset(app.config["WTF_CSRF_METHODS"])

    def csrf_protect() -> None:
        if request.method in methods and app.config["WTF_CSRF_ENABLED"]:
            csrf.protect(apply_exemptions=True)

    # In place of Flask-WTF's own hook (a no-op from now on), so the checks keep their order.
    hooks = app.before_request_funcs.setdefault(None, [])
    theirs = [i for i, hook in enumerate(hooks) if getattr(hook, "__module__", "") == "flask_wtf.csrf"]
    if theirs:
        hooks[theirs[0]] = csrf_protect
    else:
        hooks.append(csrf_protect)


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
