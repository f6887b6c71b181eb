"""Links that leave the site come from BASE_URL; requests for unknown host names are refused.

The app here is public at https://books.example.com; the test client talks to it as "localhost" or
"127.0.0.1" (trusted, as in development) and sometimes forges Host or X-Forwarded-Host.
"""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest
from flask import render_template_string, url_for
from sqlalchemy import select

from app import create_app
from app.extensions import db, limiter
from app.models import Order, User
from tests.conftest import make_config
from tests.factories import make_book
from tests.helpers import PASSWORD, link_in, make_user
from tests.payments.webhooks import stripe_settings
from tests.shop import check_out, open_shop

PUBLIC = "https://books.example.com"
READER = "reader@example.com"


def public_app(base_settings, **settings):
    application = create_app(make_config(**{**base_settings, "BASE_URL": PUBLIC, **settings}))
    with application.app_context():
        limiter.reset()
    return application


@pytest.fixture
def site(app, base_settings):
    """Public at books.example.com; the same database and inbox as ``app``."""
    return public_app(base_settings)


@pytest.fixture
def proxied_site(app, base_settings):
    """The same, behind one proxy (gunicorn.conf.py's setting for nginx)."""
    return public_app(base_settings, PROXY_COUNT=1)


@pytest.fixture
def reader(site):
    with site.app_context():
        return make_user(email=READER).email


def ask_for_a_reset(client, **kwargs):
    return client.post("/auth/reset", data={"email": READER}, **kwargs)


def test_a_reset_request_for_an_unknown_host_is_refused_and_mails_nothing(site, reader, inbox):
    response = ask_for_a_reset(site.test_client(), headers={"Host": "evil.example"})
    assert response.status_code == 400
    assert "could not be understood" in response.get_data(as_text=True)
    assert inbox.to(READER) == []
    # The same request for the site's own name is answered and mailed.
    assert ask_for_a_reset(site.test_client(), base_url=PUBLIC).status_code in (302, 303)
    assert link_in(inbox.wait_for(READER)[0], "/auth/reset/").startswith(f"{PUBLIC}/auth/reset/")


@pytest.mark.parametrize("which", ["direct", "behind a proxy"])
def test_the_reset_link_points_at_base_url_whatever_the_request_says(site, proxied_site, reader, inbox, which):
    client = (site if which == "direct" else proxied_site).test_client()
    response = ask_for_a_reset(client, base_url="http://127.0.0.1:5000", headers={"X-Forwarded-Host": "evil.example"})
    assert response.status_code in (302, 303)
    link = link_in(inbox.wait_for(READER)[0], "/auth/reset/")
    assert link.startswith(f"{PUBLIC}/auth/reset/"), link
    assert "evil.example" not in inbox.to(READER)[0].as_string()


def test_an_unknown_host_on_the_api_gets_problem_json(site):
    response = site.test_client().get("/api/v1/books", headers={"Host": "evil.example:443"})
    assert response.status_code == 400 and response.mimetype == "application/problem+json"
    assert response.get_json()["status"] == 400


def test_the_web_session_link_uses_base_url(site, reader):
    client = site.test_client()
    tokens = client.post(
        "/api/v1/auth/token", json={"email": READER, "password": PASSWORD}, base_url="http://127.0.0.1"
    ).get_json()
    response = client.post(
        "/api/v1/auth/web-session",
        json={"next": "/account"},
        headers={"Authorization": f"Bearer {tokens['access_token']}", "X-Forwarded-Host": "evil.example"},
        base_url="http://127.0.0.1",
    )
    assert response.status_code == 201
    assert response.get_json()["url"].startswith(f"{PUBLIC}/auth/app/")


def test_api_urls_use_base_url(site):
    with site.app_context():
        book = make_book(title="Persuasion")
    body = site.test_client().get("/api/v1/books", base_url="http://127.0.0.1").get_json()
    [found] = [item for item in body["items"] if item["id"] == book.id]
    assert found["url"].startswith(f"{PUBLIC}/books/{book.id}")


def test_notification_links_in_the_api_use_base_url(site, reader):
    from app.notifications.inbox import notify

    with site.app_context():
        user_id = db.session.scalar(select(User.id).where(User.email == READER))
        notify(user_id, kind="order", key="n1", title="Shipped", body="Your order left", url="/orders/7")
        db.session.commit()
    client = site.test_client()
    on_another_host = {"base_url": "http://127.0.0.1"}
    tokens = client.post("/api/v1/auth/token", json={"email": READER, "password": PASSWORD}, **on_another_host)
    headers = {"Authorization": f"Bearer {tokens.get_json()['access_token']}"}
    [item] = client.get("/api/v1/notifications", headers=headers, **on_another_host).get_json()["items"]
    assert item["url"] == f"{PUBLIC}/orders/7"


def test_stripe_return_urls_use_base_url(app, base_settings, httpserver):
    stripe_site = public_app(base_settings, **stripe_settings(httpserver))
    httpserver.expect_request("/v1/checkout/sessions", method="POST").respond_with_json(
        {"id": "cs_test_1", "object": "checkout.session", "url": "https://checkout.stripe.test/c/cs_test_1",
         "mode": "payment", "status": "open", "payment_status": "unpaid", "payment_intent": None, "livemode": False}
    )  # fmt: skip
    with stripe_site.app_context():
        make_user(email="buyer@example.com")
        book_id = make_book(title="Emma").id
        open_shop()
    buyer = stripe_site.test_client()
    on_another_host = {"base_url": "http://127.0.0.1"}
    logged_in = buyer.post("/auth/login", data={"email": "buyer@example.com", "password": PASSWORD}, **on_another_host)
    assert logged_in.status_code in (302, 303)
    buyer.post("/cart/add", data={"book_id": str(book_id), "quantity": "1"}, **on_another_host)
    response = check_out(buyer, on=on_another_host, **{"X-Forwarded-Host": "evil.example"})
    assert response.status_code == 303, response.get_data(as_text=True)
    [request] = [r for r, _ in httpserver.log if r.path == "/v1/checkout/sessions"]
    form = {key: values[0] for key, values in parse_qs(request.get_data(as_text=True)).items()}
    with stripe_site.app_context():
        order_id = db.session.scalar(select(Order.id))
    assert form["success_url"] == f"{PUBLIC}/orders/{order_id}?session_id={{CHECKOUT_SESSION_ID}}"
    assert form["cancel_url"] == f"{PUBLIC}/orders/{order_id}?cancelled=1"


def test_links_built_outside_a_request_and_in_templates_use_base_url(base_settings):
    under_a_path = create_app(make_config(**{**base_settings, "BASE_URL": "https://example.org/shop/"}))
    with under_a_path.app_context():
        assert url_for("orders.show", order_id=3) == "https://example.org/shop/orders/3"
        assert url_for("orders.show", order_id=3, _external=False) == "/shop/orders/3"
        assert render_template_string("{{ url_for('main.index', _anchor='top') }}") == "https://example.org/shop/#top"
    with under_a_path.test_request_context("/", base_url="http://127.0.0.1:5000"):
        assert url_for("orders.show", order_id=3) == "/orders/3"  # a link inside the page stays relative
        assert url_for("orders.show", order_id=3, _external=True) == "https://example.org/shop/orders/3"
        assert url_for("orders.show", order_id=3, _external=True, _scheme="http") == "http://example.org/shop/orders/3"


def test_every_email_link_is_built_by_url_for():
    """No email template joins BASE_URL by hand: url_for is the one way to an absolute link."""
    from pathlib import Path

    templates = Path(__file__).resolve().parents[2] / "templates" / "email"
    hand_joined = [p.name for p in templates.iterdir() if "config.BASE_URL" in p.read_text()]
    assert hand_joined == []
