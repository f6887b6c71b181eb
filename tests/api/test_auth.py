"""Signing the app in: tokens, their expiry, refresh rotation and reuse, log out, the webview link."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urljoin, urlsplit

import jwt
import pytest
from sqlalchemy import select

from app.accounts import refresh_tokens as tokens
from app.extensions import db
from app.keys import API_JWT, derive_key
from app.models import RefreshToken, User
from app.models.base import utcnow
from tests.helpers import PASSWORD, login_as, make_user

API = "/api/v1"
# TestingConfig's short SECRET_KEY makes PyJWT warn on every token; production keys are long.
pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def refresh(client, refresh_token: str):
    return client.post(f"{API}/auth/refresh", json={"refresh_token": refresh_token})


def web_session(client, access_token: str, next_path: str | None = "/account"):
    body = {} if next_path is None else {"next": next_path}
    return client.post(f"{API}/auth/web-session", json=body, headers=bearer(access_token))


def assert_problem(response, status: int, detail_part: str = "") -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == status and body["title"] and body["type"] == "about:blank"
    assert detail_part in body["detail"]
    return body


def the_access_works(client, access_token: str) -> bool:
    """Use the token on an operation that needs one (the webview link)."""
    status = web_session(client, access_token).status_code
    assert status in (201, 401), status
    return status == 201


# ---- Signing in --------------------------------------------------------------------------------


def test_sign_in_gives_a_token_pair(app, client, reader):
    response = client.post(f"{API}/auth/token", json={"email": "Reader@Example.com ", "password": PASSWORD})
    assert response.status_code == 200 and response.mimetype == "application/json"
    pair = response.get_json()
    assert set(pair) == {"access_token", "token_type", "expires_in", "refresh_token", "device_token"}
    assert pair["token_type"] == "Bearer" and pair["expires_in"] == app.config["API_ACCESS_TOKEN_SECONDS"]
    claims = jwt.decode(
        pair["access_token"],
        derive_key(app.config["SECRET_KEY"], API_JWT),
        algorithms=["HS256"],
        audience="bookcommerce-api",
    )
    assert claims["exp"] - claims["iat"] == app.config["API_ACCESS_TOKEN_SECONDS"]
    assert the_access_works(client, pair["access_token"])
    with app.app_context():  # only a hash of the refresh token is stored
        stored = db.session.scalars(select(RefreshToken.token_hash)).all()
        assert len(stored) == 1 and pair["refresh_token"] not in stored


def test_wrong_password_and_unknown_email_get_the_same_answer(app, client, reader):
    wrong = client.post(f"{API}/auth/token", json={"email": reader, "password": "not the password"})
    unknown = client.post(f"{API}/auth/token", json={"email": "nobody@example.com", "password": PASSWORD})
    body = assert_problem(wrong, 401, "Invalid email or password.")
    assert unknown.get_json() == body and unknown.status_code == 401
    assert wrong.headers["WWW-Authenticate"] == unknown.headers["WWW-Authenticate"]


def test_sign_in_input_is_checked(client, reader):
    body = assert_problem(client.post(f"{API}/auth/token", json={"email": "no-at-sign"}), 422)
    assert set(body["errors"]) == {"email", "password"}
    assert_problem(client.post(f"{API}/auth/token", data="email=x", content_type="text/plain"), 400, "JSON")
    assert_problem(client.post(f"{API}/auth/token", json=["a", "list"]), 400)


def test_a_disabled_account_cannot_sign_in_and_its_tokens_stop(app, client, reader, sign_in):
    pair = sign_in()
    with app.app_context():
        db.session.scalar(select(User).where(User.email == reader)).is_disabled = True
        db.session.commit()
    assert_problem(client.post(f"{API}/auth/token", json={"email": reader, "password": PASSWORD}), 403, "disabled")
    assert not the_access_works(client, pair["access_token"])
    assert_problem(refresh(client, pair["refresh_token"]), 401, "cannot sign in")


def test_too_many_failed_sign_ins_are_refused_with_429(app, client, reader):
    limit = int(app.config["LOGIN_LIMIT_PER_ACCOUNT"].split()[0])
    for _ in range(limit):
        assert client.post(f"{API}/auth/token", json={"email": reader, "password": "guess"}).status_code == 401
    blocked = client.post(f"{API}/auth/token", json={"email": reader, "password": PASSWORD})
    assert_problem(blocked, 429, "Too many attempts")
    assert "Retry-After" in blocked.headers
    # Another account from the same address is not locked out by these guesses.
    with app.app_context():
        make_user(email="other@example.com", name="Otto Other")
    assert (
        client.post(f"{API}/auth/token", json={"email": "other@example.com", "password": PASSWORD}).status_code == 200
    )


def test_successful_sign_ins_do_not_count_towards_the_limit(app, client, reader):
    limit = int(app.config["LOGIN_LIMIT_PER_ACCOUNT"].split()[0])
    for _ in range(limit + 2):
        assert client.post(f"{API}/auth/token", json={"email": reader, "password": PASSWORD}).status_code == 200


def test_one_address_guessing_many_accounts_is_limited(app, client):
    limit = int(app.config["LOGIN_LIMIT_PER_IP"].split()[0])
    for n in range(limit):
        response = client.post(f"{API}/auth/token", json={"email": f"guess{n}@example.com", "password": "x"})
        assert response.status_code == 401
    assert_problem(client.post(f"{API}/auth/token", json={"email": "last@example.com", "password": "x"}), 429)


# ---- Access tokens -----------------------------------------------------------------------------


def test_an_expired_access_token_is_refused(app, client, reader, monkeypatch):
    # Issue the token an hour ago; PyJWT checks it against the real clock.
    an_hour_ago = utcnow() - timedelta(hours=1)
    monkeypatch.setattr(tokens, "utcnow", lambda: an_hour_ago)
    pair = client.post(f"{API}/auth/token", json={"email": reader, "password": PASSWORD}).get_json()
    monkeypatch.undo()
    response = web_session(client, pair["access_token"])
    assert_problem(response, 401, "expired")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    # The refresh token (long-lived) still brings a working access token.
    fresh = refresh(client, pair["refresh_token"]).get_json()
    assert the_access_works(client, fresh["access_token"])


def test_forged_and_malformed_access_tokens_are_refused(app, client, reader, sign_in):
    api_key = derive_key(app.config["SECRET_KEY"], API_JWT)
    # The claims of a real token (its user, session version and refresh family), made long-lived.
    issued = jwt.decode(sign_in()["access_token"], api_key, algorithms=["HS256"], audience="bookcommerce-api")
    claims = {**issued, "exp": 4_000_000_000}
    forged = jwt.encode(claims, "not-the-secret-key-but-long-enough-for-hs256", algorithm="HS256")
    other_audience = jwt.encode({**claims, "aud": "someone-else"}, api_key, algorithm="HS256")
    # SECRET_KEY itself signs nothing: only the key derived for API tokens does.
    master_signed = jwt.encode(claims, app.config["SECRET_KEY"], algorithm="HS256")
    unsigned = jwt.encode(claims, None, algorithm="none")
    assert the_access_works(client, jwt.encode(claims, api_key, algorithm="HS256"))
    for token in (forged, other_audience, master_signed, unsigned, "not-a-jwt"):
        assert_problem(web_session(client, token), 401, "not valid")
    assert_problem(client.post(f"{API}/auth/web-session", json={}), 401, "Bearer")
    header = {"Authorization": f"Basic {forged}"}
    assert_problem(client.post(f"{API}/auth/web-session", json={}, headers=header), 401, "Bearer")


def test_changing_the_password_on_the_site_ends_api_access(app, client, reader, sign_in):
    pair = sign_in()
    login_as(client, reader)
    changed = client.post(
        "/account/password",
        data={"current_password": PASSWORD, "password": "a brand new passphrase", "confirm": "a brand new passphrase"},
    )
    assert changed.status_code == 303
    assert_problem(web_session(app.test_client(), pair["access_token"]), 401, "revoked")
    assert_problem(refresh(app.test_client(), pair["refresh_token"]), 401, "revoked")


def test_logging_out_everywhere_on_the_site_ends_access_tokens(app, client, reader, sign_in):
    pair = sign_in()
    login_as(client, reader)
    assert client.post("/auth/logout").status_code == 303
    assert_problem(web_session(app.test_client(), pair["access_token"]), 401, "revoked")


# ---- Refresh tokens ----------------------------------------------------------------------------


def test_refresh_rotates_the_refresh_token(client, reader, sign_in):
    first = sign_in()
    response = refresh(client, first["refresh_token"])
    assert response.status_code == 200
    second = response.get_json()
    assert second["refresh_token"] != first["refresh_token"] and second["token_type"] == "Bearer"
    assert the_access_works(client, second["access_token"])
    third = refresh(client, second["refresh_token"]).get_json()
    assert the_access_works(client, third["access_token"])


def test_a_reused_refresh_token_revokes_its_whole_family(app, client, reader, sign_in):
    phone = sign_in()
    tablet = sign_in()  # another device: another family
    rotated = refresh(client, phone["refresh_token"]).get_json()

    # Someone presents the old (used) token: the thief or the app, we cannot tell which.
    assert_problem(refresh(client, phone["refresh_token"]), 401, "already used")
    # So the newest token of that family is revoked too...
    assert_problem(refresh(client, rotated["refresh_token"]), 401, "revoked")
    with app.app_context():
        family = db.session.scalars(select(RefreshToken).order_by(RefreshToken.id)).all()
        assert sum(1 for row in family if row.revoked_at is None) == 1  # ...and only the tablet's remains
    # ...while the other device keeps working.
    assert refresh(client, tablet["refresh_token"]).status_code == 200


def test_an_expired_or_unknown_refresh_token_is_refused(app, client, reader, monkeypatch):
    long_ago = utcnow() - timedelta(seconds=app.config["API_REFRESH_TOKEN_SECONDS"] + 60)
    monkeypatch.setattr(tokens, "utcnow", lambda: long_ago)
    stale = client.post(f"{API}/auth/token", json={"email": reader, "password": PASSWORD}).get_json()
    monkeypatch.undo()
    assert_problem(refresh(client, stale["refresh_token"]), 401, "expired")
    assert_problem(refresh(client, "A" * 43), 401, "not valid")  # the shape of a token, never issued
    assert_problem(client.post(f"{API}/auth/refresh", json={}), 422)


def test_log_out_revokes_the_refresh_token(client, reader, sign_in):
    pair = sign_in()
    rotated = refresh(client, pair["refresh_token"]).get_json()
    assert client.post(f"{API}/auth/logout", json={"refresh_token": rotated["refresh_token"]}).status_code == 204
    assert_problem(refresh(client, rotated["refresh_token"]), 401, "revoked")
    # Logging out twice, or with a token we never issued, says nothing about which tokens exist.
    assert client.post(f"{API}/auth/logout", json={"refresh_token": rotated["refresh_token"]}).status_code == 204
    assert client.post(f"{API}/auth/logout", json={"refresh_token": "A" * 43}).status_code == 204
    assert_problem(client.post(f"{API}/auth/logout", json={}), 422)


# ---- The webview link --------------------------------------------------------------------------


def test_the_web_session_link_signs_the_webview_in_once(app, client, reader, sign_in):
    pair = sign_in()
    response = web_session(client, pair["access_token"], "/account")
    assert response.status_code == 201
    link = response.get_json()
    assert link["expires_in"] == app.config["API_WEB_SESSION_SECONDS"]
    assert link["url"].startswith("http://localhost/auth/app/")
    path = link["url"].removeprefix("http://localhost")

    webview = app.test_client()
    opened = webview.get(path)
    assert opened.status_code == 302 and opened.headers["Location"] == "/account"
    account = webview.get("/account")
    assert account.status_code == 200 and reader in account.get_data(as_text=True)

    again = app.test_client().get(path)
    assert again.status_code == 400 and "already used" in again.get_data(as_text=True)
    assert app.test_client().get("/auth/app/made-up").status_code == 400


def test_an_expired_web_session_link_is_refused(app, client, reader, sign_in, monkeypatch):
    pair = sign_in()
    earlier = utcnow() - timedelta(seconds=app.config["API_WEB_SESSION_SECONDS"] + 1)
    monkeypatch.setattr(tokens, "utcnow", lambda: earlier)
    link = web_session(client, pair["access_token"]).get_json()
    monkeypatch.undo()
    webview = app.test_client()
    response = webview.get(link["url"].removeprefix("http://localhost"))
    assert response.status_code == 400 and "expired" in response.get_data(as_text=True)
    assert webview.get("/account").status_code == 302  # not signed in


@pytest.mark.parametrize(
    "next_path",
    ["https://evil.example/", "//evil.example/", "/\\evil.example/", "/\t/evil.example/", "javascript:x", None],
)
def test_the_web_session_link_only_goes_to_this_site(app, client, reader, sign_in, next_path):
    pair = sign_in()
    link = web_session(client, pair["access_token"], next_path).get_json()
    opened = app.test_client().get(link["url"].removeprefix("http://localhost"))
    assert opened.status_code == 302
    assert urlsplit(urljoin("http://localhost/auth/app/x", opened.headers["Location"])).netloc == "localhost"


def test_cookies_never_authorise_api_calls(app, client, reader):
    """A signed-in browser (session cookie) gets nothing from the API without a bearer token."""
    login_as(client, reader)
    assert client.get("/account").status_code == 200
    document = client.get(f"{API}/openapi.json").get_json()
    secured = [
        (path, method)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if method != "parameters" and operation.get("security") and {} not in operation["security"]
    ]
    assert ("/auth/web-session", "post") in secured
    for path, method in secured:
        url = API + re.sub(r"\{[^}]+\}", "1", path)  # any value: the token is checked first
        response = client.open(url, method=method.upper(), json={})
        assert response.status_code == 401, f"{method.upper()} {path}: {response.status_code}"


# ---- Revocation ends access tokens at once, and odd tokens are refused cleanly -----------------


def test_log_out_ends_the_access_token_of_that_family_at_once(client, reader, sign_in):
    phone, tablet = sign_in(), sign_in()
    assert the_access_works(client, phone["access_token"])
    assert client.post(f"{API}/auth/logout", json={"refresh_token": phone["refresh_token"]}).status_code == 204
    assert_problem(web_session(client, phone["access_token"]), 401, "revoked")
    # The other device's family is not touched.
    assert the_access_works(client, tablet["access_token"])


def test_reuse_detection_ends_every_access_token_of_the_family_at_once(client, reader, sign_in):
    phone, tablet = sign_in(), sign_in()
    rotated = refresh(client, phone["refresh_token"]).get_json()
    assert the_access_works(client, rotated["access_token"])
    # The used refresh token comes back (a thief replaying it): the whole family ends.
    assert_problem(refresh(client, phone["refresh_token"]), 401, "already used")
    for access in (phone["access_token"], rotated["access_token"]):
        assert_problem(web_session(client, access), 401, "revoked")
    assert the_access_works(client, tablet["access_token"])


@pytest.mark.parametrize(
    "sub", [None, "abc", "", "-1", "0", "1.5", "99999999999999999999", "١٢"], ids=lambda s: repr(s)
)
def test_a_signed_access_token_without_a_usable_sub_is_refused_with_401(app, client, reader, sign_in, sub):
    real = jwt.decode(sign_in()["access_token"], options={"verify_signature": False})
    claims = {key: value for key, value in real.items() if key != "sub"}
    if sub is not None:
        claims["sub"] = sub
    with app.app_context():
        token = tokens.sign_claims(claims)
    response = web_session(client, token)
    assert_problem(response, 401, "not valid")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


# ---- Guessers cannot lock the owner's app out ----------------------------------------------------


def test_the_app_that_signed_in_before_signs_in_while_a_guesser_is_locked_out(app, client, reader, sign_in):
    device_token = sign_in()["device_token"]
    attacker = app.test_client()
    guess = {"environ_base": {"REMOTE_ADDR": "203.0.113.66"}}
    for _ in range(5):
        assert (
            attacker.post(f"{API}/auth/token", json={"email": reader, "password": "guess"}, **guess).status_code == 401
        )
    assert_problem(attacker.post(f"{API}/auth/token", json={"email": reader, "password": PASSWORD}, **guess), 429)

    # The owner's app sends the token from its last sign-in: the right password gets through.
    again = client.post(f"{API}/auth/token", json={"email": reader, "password": PASSWORD, "device_token": device_token})
    assert again.status_code == 200 and the_access_works(client, again.get_json()["access_token"])
    # Without it (or with a made-up one) the account's budget still applies.
    assert_problem(client.post(f"{API}/auth/token", json={"email": reader, "password": PASSWORD}), 429)
    made_up = {"email": reader, "password": PASSWORD, "device_token": device_token[:-3] + "xyz"}
    assert_problem(client.post(f"{API}/auth/token", json=made_up), 429)


def test_a_known_app_has_its_own_guessing_budget(app, client, reader, sign_in):
    device_token = sign_in()["device_token"]
    for _ in range(5):
        wrong = {"email": reader, "password": "guess", "device_token": device_token}
        assert client.post(f"{API}/auth/token", json=wrong).status_code == 401
    right = {"email": reader, "password": PASSWORD, "device_token": device_token}
    assert_problem(client.post(f"{API}/auth/token", json=right), 429)
