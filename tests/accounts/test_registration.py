"""Registering and confirming an email address."""

import time

from sqlalchemy import select

from app.extensions import db
from app.models import User
from tests.helpers import PASSWORD, link_in, logout, make_user, path_of, register_user


def test_register_sends_a_verification_link_that_confirms_the_account(app, client, inbox):
    response = register_user(client, email="Nina@Example.com ")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/auth/check-email?reason=register")

    email = inbox.wait_for("nina@example.com")[0]
    assert email["Subject"] == "Confirm your email for Book Commerce"
    assert email.get_body(preferencelist=("html",)) is not None
    link = link_in(email, "/auth/verify/")

    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "nina@example.com"))
        assert user is not None and not user.is_verified

    confirmed = client.get(path_of(link), follow_redirects=True)
    assert confirmed.status_code == 200
    assert b"nina@example.com is confirmed" in confirmed.data
    with app.app_context():
        assert db.session.scalar(select(User).where(User.email == "nina@example.com")).is_verified


def test_registering_a_taken_email_looks_the_same_and_warns_the_owner(app, client, inbox):
    with app.app_context():
        make_user(email="taken@example.com")
    fresh = register_user(client, email="someone-new@example.com")
    taken = register_user(client, email="taken@example.com")
    assert (taken.status_code, taken.headers["Location"], taken.data) == (
        fresh.status_code,
        fresh.headers["Location"],
        fresh.data,
    )
    warning = inbox.wait_for("taken@example.com")[0]
    assert "Someone tried to register" in warning["Subject"]
    with app.app_context():
        assert db.session.scalar(select(db.func.count(User.id)).where(User.email == "taken@example.com")) == 1


def test_invalid_registration_shows_errors_in_place_and_keeps_input(app, client, inbox):
    response = client.post(
        "/auth/register",
        data={"name": "Nina", "email": "not-an-email", "password": "short", "confirm": "other"},
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Enter an email address like name@example.com." in page
    assert "Use 10 to 128 characters." in page
    assert "The passwords do not match." in page
    assert 'value="Nina"' in page
    assert 'aria-invalid="true"' in page
    with app.app_context():
        assert db.session.scalar(select(db.func.count(User.id))) == 0
    assert inbox.messages == []


def test_htmx_registration_gets_the_form_fragment_or_a_redirect_header(client, inbox):
    htmx = {"HX-Request": "true", "HX-Request-Type": "partial"}
    invalid = client.post("/auth/register", data={"name": "", "email": "x"}, headers=htmx)
    assert invalid.status_code == 422
    assert invalid.data.lstrip().startswith(b"<form")
    assert b"<html" not in invalid.data
    assert "HX-Request" in invalid.headers["Vary"]

    ok = register_user(client, email="htmx@example.com", **htmx)
    assert ok.status_code == 200
    assert ok.headers["HX-Redirect"].endswith("/auth/check-email?reason=register")


def test_password_may_not_be_the_email(client):
    response = client.post(
        "/auth/register",
        data={
            "name": "N",
            "email": "longaddress@example.com",
            "password": "longaddress@example.com",
            "confirm": "longaddress@example.com",
        },
    )
    assert response.status_code == 422
    assert b"Your password cannot be your email address." in response.data


def test_tampered_and_expired_verification_links_are_refused(app, client, inbox, monkeypatch):
    register_user(client, email="late@example.com")
    link = path_of(link_in(inbox.wait_for("late@example.com")[0], "/auth/verify/"))

    tampered = client.get(link[:-3] + "abc")
    assert tampered.status_code == 400
    assert b"This link is not valid" in tampered.data

    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 49 * 3600)
    expired = client.get(link)
    assert expired.status_code == 400
    assert b"This link has expired" in expired.data


def test_unverified_reader_can_ask_for_a_new_link(app, client, inbox):
    with app.app_context():
        make_user(email="slow@example.com", verified=False)
    client.post("/auth/login", data={"email": "slow@example.com", "password": PASSWORD})
    page = client.get("/account")
    assert b"is not confirmed yet" in page.data
    response = client.post("/auth/verify/resend", follow_redirects=True)
    assert b"We sent a new confirmation link" in response.data
    link = link_in(inbox.wait_for("slow@example.com")[0], "/auth/verify/")
    client.get(path_of(link))
    assert b"is not confirmed yet" not in client.get("/account").data


def test_the_verification_link_signs_in_once_then_pre_fills_the_log_in_form(app, client, inbox):
    register_user(client, email="nina@example.com")
    link = path_of(link_in(inbox.wait_for("nina@example.com")[0], "/auth/verify/"))

    confirmed = client.get(link, follow_redirects=True)
    assert b"nina@example.com is confirmed" in confirmed.data
    assert client.get("/account").status_code == 200  # signed in by the link

    logout(client)
    again = client.get(link, follow_redirects=True)
    page = again.get_data(as_text=True)
    assert "This link was already used" in page
    assert client.get("/account").status_code == 302  # not signed in by a second use
    assert 'value="nina@example.com"' in page and "Log in" in page
