"""Logging in and out: sessions, enumeration, disabled accounts, rate limits."""

from sqlalchemy import select
from werkzeug.security import generate_password_hash

from app.extensions import db
from app.models import User
from tests.helpers import PASSWORD, login_as, logout, make_user


def test_log_in_starts_a_session_and_records_the_time(app, client):
    with app.app_context():
        make_user()
    response = login_as(client)
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    home = client.get("/")
    assert b"Welcome back, Rosa Reader." in home.data
    assert client.get("/account").status_code == 200
    with app.app_context():
        assert db.session.scalar(select(User)).last_login_at is not None


def test_wrong_password_and_unknown_email_look_the_same(app, client):
    with app.app_context():
        make_user()
    wrong = client.post("/auth/login", data={"email": "reader@example.com", "password": "not the password"})
    unknown = client.post("/auth/login", data={"email": "nobody@example.com", "password": "not the password"})
    assert wrong.status_code == unknown.status_code == 422
    normalise = lambda r: r.get_data(as_text=True).replace("reader@example.com", "X").replace("nobody@example.com", "X")  # noqa: E731
    assert normalise(wrong) == normalise(unknown)
    assert "Invalid email or password." in wrong.get_data(as_text=True)


def test_disabled_reader_cannot_log_in(app, client):
    with app.app_context():
        make_user(is_disabled=True)
    response = login_as(client)
    assert response.status_code == 422
    assert b"This account is disabled" in response.data
    assert client.get("/account").status_code == 302


def test_session_is_renewed_at_log_in(app, client):
    with app.app_context():
        make_user()
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    login_as(client)
    with client.session_transaction() as session:
        assert "planted" not in session


def test_log_out_makes_earlier_session_cookies_useless(app, client):
    with app.app_context():
        make_user()
    login_as(client, remember=True)
    stolen_session = client.get_cookie("session").value
    stolen_remember = client.get_cookie("remember_token").value
    assert logout(client).status_code == 303

    thief = app.test_client()
    thief.set_cookie("session", stolen_session)
    assert thief.get("/account").status_code == 302
    thief2 = app.test_client()
    thief2.set_cookie("remember_token", stolen_remember)
    assert thief2.get("/account").status_code == 302


def test_remember_me_keeps_the_reader_logged_in_without_a_session(app, client):
    with app.app_context():
        make_user()
    login_as(client, remember=True)
    remember = client.get_cookie("remember_token").value
    fresh = app.test_client()
    fresh.set_cookie("remember_token", remember)
    assert fresh.get("/account").status_code == 200


def test_log_out_needs_post(client):
    response = client.get("/auth/logout")
    assert response.status_code == 405
    assert b"That action is not allowed here." in response.data


def test_old_password_hashes_are_upgraded_to_argon2id(app, client):
    with app.app_context():
        make_user()
        user = db.session.scalar(select(User))
        user.password_hash = generate_password_hash(PASSWORD)  # a Werkzeug scrypt hash
        db.session.commit()
    assert login_as(client).status_code == 303
    with app.app_context():
        assert db.session.scalar(select(User)).password_hash.startswith("$argon2id$")


def test_next_only_redirects_inside_the_site(app, client):
    with app.app_context():
        make_user()
    page = client.get("/account")
    assert page.status_code == 302 and "/auth/login?next=%2Faccount" in page.headers["Location"]
    evil = client.post(
        "/auth/login?next=//evil.example/steal", data={"email": "reader@example.com", "password": PASSWORD}
    )
    assert evil.headers["Location"] == "/"
    client.post("/auth/logout")
    good = client.post("/auth/login?next=/account", data={"email": "reader@example.com", "password": PASSWORD})
    assert good.headers["Location"] == "/account"


def test_too_many_failures_for_one_account_answer_429(app, client):
    with app.app_context():
        make_user()
    for _ in range(5):
        assert (
            client.post("/auth/login", data={"email": "reader@example.com", "password": "wrong-password"}).status_code
            == 422
        )
    blocked = client.post("/auth/login", data={"email": "reader@example.com", "password": PASSWORD})
    assert blocked.status_code == 429
    assert b"Slow down a little" in blocked.data
    # Another account from the same address is still allowed (the per-IP limit is higher).
    other = client.post("/auth/login", data={"email": "other@example.com", "password": "wrong-password"})
    assert other.status_code == 422


def test_too_many_failures_from_one_address_answer_429(app, client):
    for i in range(20):
        client.post("/auth/login", data={"email": f"guess{i}@example.com", "password": "wrong-password"})
    blocked = client.post("/auth/login", data={"email": "guess-more@example.com", "password": "wrong-password"})
    assert blocked.status_code == 429


def test_successful_log_ins_do_not_use_up_the_limit(app, client):
    with app.app_context():
        make_user()
    for _ in range(7):
        assert login_as(client).status_code == 303
        logout(client)


# ---- Guessers cannot lock the owner out of a browser that logged in before ---------------------

ATTACKER = {"REMOTE_ADDR": "203.0.113.66"}


def guess_five_times(app) -> None:
    attacker = app.test_client()
    for _ in range(5):
        wrong = {"email": "reader@example.com", "password": "wrong-password"}
        assert attacker.post("/auth/login", data=wrong, environ_base=ATTACKER).status_code == 422
    # The guesser has spent the account's budget: even the right password is refused for them.
    blocked = attacker.post("/auth/login", data={"email": "reader@example.com", "password": PASSWORD})
    assert blocked.status_code == 429


def test_the_owner_on_a_known_browser_logs_in_while_a_guesser_is_locked_out(app, client):
    with app.app_context():
        make_user()
    assert login_as(client).status_code == 303  # this browser is now known to the account
    logout(client)

    guess_five_times(app)

    assert login_as(client).status_code == 303
    assert client.get("/account").status_code == 200
    # A new browser (no proof) is still held to the account's budget.
    assert login_as(app.test_client()).status_code == 429


def test_a_known_browser_has_its_own_guessing_budget(app, client):
    with app.app_context():
        make_user()
    assert login_as(client).status_code == 303
    logout(client)
    for _ in range(5):
        assert login_as(client, password="wrong-password").status_code == 422
    assert login_as(client).status_code == 429


def test_a_made_up_or_other_accounts_device_cookie_does_not_help(app, client):
    with app.app_context():
        make_user()
        make_user(email="other@example.com", name="Otto Other")
    assert login_as(client, email="other@example.com").status_code == 303  # known to another account only
    logout(client)
    guess_five_times(app)
    assert login_as(client).status_code == 429

    forger = app.test_client()
    forger.set_cookie("known_device", "eyJkIjoiMTIzIiwiYSI6W119.forged.signature", path="/auth")
    assert login_as(forger).status_code == 429


HTMX = {"HX-Request": "true", "HX-Request-Type": "partial"}


def pending_flash(client, message: str) -> None:
    with client.session_transaction() as session:
        session["_flashes"] = [("success", message)]


def test_a_flash_shows_once_on_a_page_or_in_an_htmx_answer(app, client):
    with app.app_context():
        make_user()
    pending_flash(client, "Thanks, reader@example.com is confirmed.")
    assert "is confirmed" in client.get("/auth/login").get_data(as_text=True)

    # A wrong password (htmx) clears the old message from the page: it was for the page before.
    wrong = client.post("/auth/login", data={"email": "reader@example.com", "password": "nope"}, headers=HTMX)
    assert wrong.status_code == 422
    html = wrong.get_data(as_text=True)
    assert '<div id="flashes" hx-swap-oob="true">' in html and "is confirmed" not in html
    assert "is confirmed" not in client.get("/auth/login").get_data(as_text=True)

    # A message the htmx answer showed does not come back on the next full page.
    pending_flash(client, "Your club is saved.")
    wrong = client.post("/auth/login", data={"email": "reader@example.com", "password": "nope"}, headers=HTMX)
    assert "Your club is saved." in wrong.get_data(as_text=True)
    assert "Your club is saved." not in client.get("/auth/login").get_data(as_text=True)
