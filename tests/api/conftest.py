"""API fixtures: a reader with an account, and signing in the way the app does (email, password)."""

from __future__ import annotations

import pytest

from tests.helpers import PASSWORD, make_user

API = "/api/v1"


@pytest.fixture
def reader(app) -> str:
    """A verified reader's email (password: ``tests.helpers.PASSWORD``)."""
    with app.app_context():
        return make_user().email


@pytest.fixture
def sign_in(app):
    """``sign_in(email)`` → the token pair the app would receive (asserts the sign-in worked)."""

    def sign_in(email: str = "reader@example.com", password: str = PASSWORD) -> dict:
        response = app.test_client().post(f"{API}/auth/token", json={"email": email, "password": password})
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    return sign_in
