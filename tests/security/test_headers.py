"""Every response carries the security headers; HTTPS is decided from the last proxy hop only."""

import re
from pathlib import Path

import pytest
from flask import jsonify, request, session

from app import create_app
from tests.conftest import make_config

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'"
)
TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def csp_directives(header: str) -> dict[str, str]:
    return {part.split(" ", 1)[0]: part.split(" ", 1)[1] for part in (p.strip() for p in header.split(";")) if part}


def add_probe(application):
    """A route that reports what the app believes about the request, and touches the session."""

    @application.route("/_probe")
    def probe():
        session["seen"] = True
        return jsonify(remote_addr=request.remote_addr, scheme=request.scheme, host=request.host)

    return application


@pytest.fixture(scope="module")
def probe_app(base_settings):
    """Behind one proxy (PROXY_COUNT=1, as gunicorn.conf.py sets it for nginx)."""
    return add_probe(create_app(make_config(**base_settings, PROXY_COUNT=1)))


@pytest.fixture(scope="module")
def direct_app(base_settings):
    """The default: no proxy in front, X-Forwarded-* from the client are ignored."""
    return add_probe(create_app(make_config(**base_settings)))


@pytest.mark.parametrize(
    "path", ["/", "/books", "/auth/login", "/api/v1/books", "/no-such-page", "/static/css/app.css"]
)
def test_every_response_carries_the_security_headers(client, path):
    response = client.get(path)
    assert csp_directives(response.headers["Content-Security-Policy"]) == csp_directives(CSP)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]


def test_plain_http_gets_no_hsts_and_no_redirect(client):
    response = client.get("/")
    assert response.status_code == 200  # Talisman does not force HTTPS: nginx does
    assert "Strict-Transport-Security" not in response.headers


def test_https_request_gets_hsts(client):
    response = client.get("/", base_url="https://localhost")
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_https_from_the_proxy_gets_hsts_and_https_urls(app, probe_app):
    client = probe_app.test_client()
    response = client.get("/_probe", headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "books.example.com"})
    # The scheme is the proxy's word; the host is the request's own (X-Forwarded-Host is never read).
    assert response.json["scheme"] == "https" and response.json["host"] == "localhost"
    assert "Strict-Transport-Security" in response.headers


def test_only_the_last_forwarded_hop_is_believed(app, probe_app):
    client = probe_app.test_client()
    response = client.get(
        "/_probe",
        headers={"X-Forwarded-For": "6.6.6.6, 203.0.113.9", "X-Forwarded-Proto": "https, http"},
        environ_base={"REMOTE_ADDR": "127.0.0.1"},
    )
    # The client wrote 6.6.6.6 and "https"; the proxy appended what it saw.
    assert response.json["remote_addr"] == "203.0.113.9"
    assert response.json["scheme"] == "http"
    assert "Strict-Transport-Security" not in response.headers


def test_without_a_proxy_forwarded_headers_are_ignored(app, direct_app):
    client = direct_app.test_client()
    response = client.get(
        "/_probe",
        headers={"X-Forwarded-For": "6.6.6.6", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example"},
        environ_base={"REMOTE_ADDR": "198.51.100.7"},
    )
    assert response.json == {"remote_addr": "198.51.100.7", "scheme": "http", "host": "localhost"}
    assert "Strict-Transport-Security" not in response.headers


def session_cookie(response) -> str:
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert cookies, response.headers
    return cookies[0]


def test_session_cookie_is_httponly_lax_and_secure_only_over_https(app, probe_app):
    plain = session_cookie(probe_app.test_client().get("/_probe"))
    assert "HttpOnly" in plain and "SameSite=Lax" in plain and "Secure" not in plain
    proxied = session_cookie(probe_app.test_client().get("/_probe", headers={"X-Forwarded-Proto": "https"}))
    assert "Secure" in proxied and "HttpOnly" in proxied and "SameSite=Lax" in proxied


def page_templates() -> list[Path]:
    return [p for p in TEMPLATES.rglob("*.html") if "email" not in p.relative_to(TEMPLATES).parts]


def test_templates_have_no_inline_script_or_style():
    # The CSP allows neither; a browser would silently drop them.
    problems = []
    for path in page_templates():
        # Jinja tags are not HTML: a macro argument named ``style`` is no style attribute.
        text = re.sub(r"{%.*?%}|{{.*?}}|{#.*?#}", "", path.read_text(), flags=re.S)
        for pattern, what in (
            # JSON-LD is a data block, never run, so the CSP has nothing to say about it.
            (r"<script(?![^>]*\ssrc=)(?![^>]*\stype=\"application/ld\+json\")[^>]*>", "inline <script>"),
            (r"<style[\s>]", "<style> element"),
            (r"\sstyle\s*=\s*[\"']", "style attribute"),
            (r"\son[a-z]+\s*=\s*[\"']", "inline event handler"),
            (r"\shx-on[:-]", "hx-on handler (needs eval)"),
            (r"javascript:", "javascript: URL"),
        ):
            problems += [f"{path.relative_to(TEMPLATES)}: {what}" for _ in re.finditer(pattern, text)]
    assert page_templates() and not problems, problems


def test_htmx_runs_without_eval_or_injected_css(client):
    page = client.get("/").get_data(as_text=True)
    assert '"includeIndicatorCSS": false' in page and '"allowEval": false' in page
