"""The account pages: profile, email change, password change and reset, deletion."""

import time

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import EmailMessage, User
from tests.helpers import PASSWORD, link_in, login_as, make_user, path_of

NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
def reader(app, client):
    with app.app_context():
        user_id = make_user().id
    login_as(client)
    return user_id


def load(app, user_id) -> User:
    with app.app_context():
        user = db.session.get(User, user_id)
        db.session.expunge(user)
        return user


@pytest.mark.parametrize("path", ["/account", "/account/password", "/account/delete"])
def test_account_pages_need_a_log_in(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]


def test_profile_edit_saves_name_bio_and_time_zone(app, client, reader):
    response = client.post(
        "/account",
        data={"name": "Rosa R.", "email": "reader@example.com", "bio": "Loves sagas", "time_zone": "Europe/Paris"},
        follow_redirects=True,
    )
    assert b"Your profile is saved." in response.data
    assert b"Rosa R." in response.data
    user = load(app, reader)
    assert (user.name, user.bio, user.time_zone) == ("Rosa R.", "Loves sagas", "Europe/Paris")


def test_invalid_profile_is_refused_in_place(app, client, reader):
    response = client.post(
        "/account", data={"name": "", "email": "reader@example.com", "bio": "x", "time_zone": "Mars/Olympus"}
    )
    assert response.status_code == 422
    assert b"This field is required." in response.data
    assert b"Not a valid choice." in response.data
    assert load(app, reader).name == "Rosa Reader"


def test_email_change_waits_for_the_new_address_to_confirm(app, client, reader, inbox):
    response = client.post(
        "/account",
        data={"name": "Rosa Reader", "email": "rosa@new.example", "bio": "", "time_zone": "UTC"},
        follow_redirects=True,
    )
    assert b"We sent a link to rosa@new.example" in response.data
    assert load(app, reader).email == "reader@example.com"
    assert load(app, reader).pending_email == "rosa@new.example"

    link = link_in(inbox.wait_for("rosa@new.example")[0], "/auth/verify/")
    client.get(path_of(link))
    user = load(app, reader)
    assert (user.email, user.pending_email) == ("rosa@new.example", None)
    notice = inbox.wait_for("reader@example.com")[0]
    assert "email was changed" in notice["Subject"]
    # The old address no longer logs in; the new one does.
    client.post("/auth/logout")
    assert login_as(client, email="reader@example.com").status_code == 422
    assert login_as(client, email="rosa@new.example").status_code == 303


def test_email_change_to_a_taken_address_sends_no_link(app, client, reader, inbox):
    with app.app_context():
        make_user(email="other@example.com", name="Other")
    response = client.post(
        "/account",
        data={"name": "Rosa Reader", "email": "other@example.com", "bio": "", "time_zone": "UTC"},
        follow_redirects=True,
    )
    assert b"We sent a link to other@example.com" in response.data
    assert inbox.to("other@example.com") == []
    assert load(app, reader).pending_email is None


def test_change_password_checks_the_current_one(app, client, reader):
    response = client.post(
        "/account/password", data={"current_password": "wrong one!", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert response.status_code == 422
    assert b"Your current password is not correct." in response.data


def test_change_password_ends_other_sessions_but_keeps_this_one(app, client, reader, inbox):
    other_device = app.test_client()
    login_as(other_device)
    assert other_device.get("/account").status_code == 200

    response = client.post(
        "/account/password",
        data={"current_password": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
        follow_redirects=True,
    )
    assert b"Other devices were logged out." in response.data
    assert client.get("/account").status_code == 200
    assert other_device.get("/account").status_code == 302
    assert "password was changed" in inbox.wait_for("reader@example.com")[0]["Subject"]
    client.post("/auth/logout")
    assert login_as(client, password=NEW_PASSWORD).status_code == 303


def test_reset_request_looks_the_same_for_unknown_addresses(app, client, inbox):
    with app.app_context():
        make_user()
    known = client.post("/auth/reset", data={"email": "reader@example.com"})
    unknown = client.post("/auth/reset", data={"email": "ghost@example.com"})
    assert (known.status_code, known.headers["Location"], known.data) == (
        unknown.status_code,
        unknown.headers["Location"],
        unknown.data,
    )
    assert len(inbox.wait_for("reader@example.com")) == 1
    # The unknown address hears that it has no account (the same work, so the same time), no link.
    (note,) = inbox.wait_for("ghost@example.com")
    text = note.get_body(("plain",)).get_content()
    assert "there is no active account" in text and "/auth/reset/" not in text


def test_reset_link_sets_a_new_password_once(app, client, inbox):
    with app.app_context():
        make_user()
    client.post("/auth/reset", data={"email": "reader@example.com"})
    link = path_of(link_in(inbox.wait_for("reader@example.com")[0], "/auth/reset/"))
    assert client.get(link).status_code == 200

    mismatch = client.post(link, data={"password": NEW_PASSWORD, "confirm": "different words"})
    assert mismatch.status_code == 422

    done = client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}, follow_redirects=True)
    assert b"Your password is changed" in done.data
    assert login_as(client, password=NEW_PASSWORD).status_code == 303

    reused = client.get(link)
    assert reused.status_code == 400
    assert b"has been used or replaced" in reused.data


def test_reset_link_expires_after_an_hour(app, client, inbox, monkeypatch):
    with app.app_context():
        make_user()
    client.post("/auth/reset", data={"email": "reader@example.com"})
    link = path_of(link_in(inbox.wait_for("reader@example.com")[0], "/auth/reset/"))
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 3601)
    response = client.get(link)
    assert response.status_code == 400
    assert b"This link has expired" in response.data


def test_delete_account_needs_the_password(app, client, reader):
    response = client.post("/account/delete", data={"password": "wrong one!", "confirm": "y"})
    assert response.status_code == 422
    assert b"your account was not deleted" in response.data
    unticked = client.post("/account/delete", data={"password": PASSWORD})
    assert unticked.status_code == 422
    assert b"Tick the box to confirm." in unticked.data
    assert load(app, reader).deleted_at is None


def test_delete_account_anonymises_and_logs_out(app, client, reader, inbox):
    client.post("/auth/reset", data={"email": "reader@example.com"})  # leaves an email record
    inbox.wait_for("reader@example.com")
    response = client.post("/account/delete", data={"password": PASSWORD, "confirm": "y"}, follow_redirects=True)
    assert b"Your account is deleted." in response.data
    assert client.get("/account").status_code == 302

    user = load(app, reader)
    assert user.deleted_at is not None
    assert user.name == "Deleted reader"
    assert "reader@example.com" not in user.email
    with app.app_context():
        records = db.session.scalars(select(EmailMessage)).all()
        assert records and all("reader@example.com" not in r.recipient and r.body_text == "" for r in records)
    assert login_as(client).status_code == 422
    # The address is free again for a new account.
    client.post(
        "/auth/register",
        data={"name": "Rosa", "email": "reader@example.com", "password": PASSWORD, "confirm": PASSWORD},
    )
    with app.app_context():
        assert db.session.scalar(select(User).where(User.email == "reader@example.com")) is not None


def test_account_page_runs_a_fixed_number_of_queries(app, client, reader, count_queries):
    with count_queries() as q:
        assert client.get("/account").status_code == 200
    # The user, the cart badge, this year's reading (books read, the goal); nothing per item.
    assert q.count <= 5, q.statements
