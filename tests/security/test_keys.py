"""Secret keys: no public development key, and one derived key per use of SECRET_KEY."""

from __future__ import annotations

import stat
from datetime import timedelta

import jwt
import pytest
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer

from app import create_app
from app.keys import API_JWT, EMAIL_LINKS, SESSION, derive_key
from app.models.base import utcnow
from config import DevelopmentConfig
from tests.helpers import PASSWORD, login_as, make_user

OLD_PUBLIC_DEV_KEY = "dev-only-not-secret"
# Keys shorter than 32 bytes (the old public one, the testing one) make PyJWT warn; that is the point here.
pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")


def development(base_settings, instance_dir, **overrides):
    """The development settings with no SECRET_KEY in the environment, on the test database."""
    settings = {**base_settings, "SECRET_KEY": None, "INSTANCE_PATH": str(instance_dir), **overrides}
    return type("Dev", (DevelopmentConfig,), settings)


def claims_for(user) -> dict:
    now = utcnow()
    return {
        "sub": str(user.id),
        "sv": user.session_version,
        "fam": "a-family-never-revoked",
        "aud": "bookcommerce-api",
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=5)).timestamp()),
    }


def me(client, token: str):
    return client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})


def test_the_development_key_is_random_private_and_kept(app, base_settings, tmp_path):
    instance = tmp_path / "instance"
    first = create_app(development(base_settings, instance))
    key_file = instance / "secret_key"
    assert key_file.exists() and stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = first.config["SECRET_KEY"]
    assert key not in (None, "", OLD_PUBLIC_DEV_KEY) and len(key) >= 32
    # The next start (or another process) uses the same key, so sessions survive a restart...
    assert create_app(development(base_settings, instance)).config["SECRET_KEY"] == key
    # ...and another installation has its own.
    assert create_app(development(base_settings, tmp_path / "other")).config["SECRET_KEY"] != key
    # A key given in the environment wins and writes nothing.
    given = create_app(development(base_settings, tmp_path / "given", SECRET_KEY="z" * 40))
    assert given.config["SECRET_KEY"] == "z" * 40 and not (tmp_path / "given" / "secret_key").exists()


def test_a_jwt_signed_with_the_old_public_dev_key_is_refused(app, base_settings, tmp_path):
    dev = create_app(development(base_settings, tmp_path / "instance"))
    with dev.app_context():
        user = make_user()
        claims = claims_for(user)
    client = dev.test_client()
    forged = jwt.encode(claims, OLD_PUBLIC_DEV_KEY, algorithm="HS256")
    assert me(client, forged).status_code == 401
    # The reader's own token works on the same app.
    tokens = client.post("/api/v1/auth/token", json={"email": user.email, "password": PASSWORD}).get_json()
    assert me(client, tokens["access_token"]).status_code == 200


def test_a_jwt_verifies_only_with_the_key_derived_for_api_tokens(app, client):
    with app.app_context():
        claims = claims_for(make_user())
    secret = app.config["SECRET_KEY"]
    assert me(client, jwt.encode(claims, derive_key(secret, API_JWT), algorithm="HS256")).status_code == 200
    for wrong in (secret, derive_key(secret, SESSION), derive_key(secret, EMAIL_LINKS)):
        assert me(client, jwt.encode(claims, wrong, algorithm="HS256")).status_code == 401


def resign_session(app, cookie: str, key) -> str:
    """The same session contents, signed as Flask signs a session cookie but with ``key``."""
    interface = SecureCookieSessionInterface()
    contents = app.session_interface.get_signing_serializer(app).loads(cookie)
    signer = URLSafeTimedSerializer(
        key,
        salt=interface.salt,
        serializer=interface.serializer,
        signer_kwargs={"key_derivation": interface.key_derivation, "digest_method": interface.digest_method},
    )
    return signer.dumps(contents)


def test_a_session_cookie_verifies_only_with_the_session_key(app, client):
    with app.app_context():
        make_user()
    assert login_as(client).status_code in (302, 303)
    cookie = client.get_cookie("session").value
    secret = app.config["SECRET_KEY"]

    def account_with(value: str) -> int:
        other = app.test_client()
        other.set_cookie("session", value)
        return other.get("/account").status_code

    assert account_with(resign_session(app, cookie, derive_key(secret, SESSION))) == 200
    # Signed with SECRET_KEY itself (as before), or with the key that signs reset and verify links:
    # not a session, even with the session's own salt and contents.
    assert account_with(resign_session(app, cookie, secret)) == 302
    assert account_with(resign_session(app, cookie, derive_key(secret, EMAIL_LINKS))) == 302
