"""The layout, error pages, problem details and health probes."""

import re
from pathlib import Path

import pytest

from app import create_app
from tests.conftest import make_config

ROOT = Path(__file__).resolve().parent.parent


def test_layout_loads_pinned_htmx_and_sends_csrf_with_htmx_requests(client):
    page = client.get("/").get_data(as_text=True)
    assert "/static/vendor/htmx-4.0.1/htmx.min.js" in page
    assert "/static/vendor/pico-2.1.1/pico.min.css" in page
    assert 'hx-headers:inherited=\'{"X-CSRFToken": "' in page
    assert '<main id="main"' in page and '<nav aria-label="Main">' in page
    assert 'name="viewport"' in page
    assert "<script>" not in page  # no inline script: a strict CSP stays possible


def test_vendored_files_are_served(client):
    assert (ROOT / "static/vendor/htmx-4.0.1/htmx.min.js").stat().st_size > 10_000
    response = client.get("/static/vendor/htmx-4.0.1/htmx.min.js")
    assert response.status_code == 200
    response.close()


def test_html_responses_vary_on_hx_request(client):
    assert "HX-Request" in client.get("/").headers.get("Vary", "")


def test_404_page(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert b"We could not find that page." in response.data
    assert response.mimetype == "text/html"


def test_413_page(app, client):
    response = client.post("/auth/login", data={"email": "x" * (3 * 1024 * 1024)})
    assert response.status_code == 413
    assert b"That upload is too large." in response.data


def test_api_errors_are_problem_details(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == 404 and body["title"] == "Not Found" and body["detail"]


def test_unexpected_errors_show_the_500_page_and_are_logged(base_settings, caplog):
    application = create_app(make_config(**base_settings, PROPAGATE_EXCEPTIONS=False, TESTING=False))

    @application.route("/boom")
    def boom():
        raise RuntimeError("kaboom")

    response = application.test_client().get("/boom")
    assert response.status_code == 500
    assert b"Something went wrong on our side." in response.data
    assert b"kaboom" not in response.data
    assert any("unhandled error on GET /boom" in r.getMessage() for r in caplog.records)


def test_csrf_is_enforced_when_enabled(base_settings, app):
    application = create_app(make_config(**base_settings, WTF_CSRF_ENABLED=True))
    client = application.test_client()
    response = client.post("/auth/login", data={"email": "a@example.com", "password": "whatever-long"})
    assert response.status_code == 400
    assert b"This form has expired" in response.data
    # With the token from the page (as a header, the way htmx sends it) the form is processed.
    page = client.get("/auth/login").get_data(as_text=True)
    token = re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)
    ok = client.post(
        "/auth/login", data={"email": "a@example.com", "password": "whatever-long"}, headers={"X-CSRFToken": token}
    )
    assert ok.status_code == 422  # the form ran: unknown account


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_readyz_reports_the_database(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json()["checks"] == {"database": "ok"}


def test_readyz_says_which_part_failed(base_settings, app):
    application = create_app(make_config(**{**base_settings, "REDIS_URL": "redis://127.0.0.1:1/0"}))
    response = application.test_client().get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["redis"].startswith("failed")


@pytest.mark.parametrize("path", ["/", "/auth/login", "/auth/register", "/auth/reset"])
def test_public_pages_render(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert b"<h1" in response.data


@pytest.mark.parametrize(
    ("status", "text"),
    [
        (400, "That request could not be understood."),
        (403, "You do not have permission to do that."),
        (404, "We could not find that page."),
        (405, "That action is not allowed here."),
        (413, "That upload is too large."),
        (429, "Slow down a little"),
    ],
)
def test_every_error_has_a_page_and_a_problem_document(base_settings, app, status, text):
    from flask import abort

    application = create_app(make_config(**base_settings))
    application.add_url_rule("/fail/<int:code>", "fail", lambda code: abort(code))
    application.add_url_rule("/api/v1/fail/<int:code>", "api_fail", lambda code: abort(code))
    client = application.test_client()
    page = client.get(f"/fail/{status}")
    assert page.status_code == status and text in page.get_data(as_text=True)
    assert page.mimetype == "text/html"
    api = client.get(f"/api/v1/fail/{status}")
    assert api.status_code == status and api.mimetype == "application/problem+json"
    assert api.get_json()["status"] == status


def test_an_error_on_an_htmx_form_replaces_the_main_area_not_the_form(app, client):
    htmx = {"HX-Request": "true", "HX-Request-Type": "partial"}
    for i in range(20):
        client.post("/auth/login", data={"email": f"a{i}@example.com", "password": "wrong-password"}, headers=htmx)
    blocked = client.post("/auth/login", data={"email": "b@example.com", "password": "wrong-password"}, headers=htmx)
    assert blocked.status_code == 429
    assert blocked.headers["HX-Retarget"] == "#main"
    assert blocked.headers["HX-Reselect"] == "#main"
    assert blocked.headers["HX-Reswap"] == "outerHTML"
