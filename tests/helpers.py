"""Test helpers that read like a reader's actions."""

from __future__ import annotations

import re

from app.accounts.passwords import hash_password
from app.extensions import db
from app.models import User
from app.models.base import utcnow

PASSWORD = "correct horse battery"


def make_user(email="reader@example.com", name="Rosa Reader", password=PASSWORD, verified=True, **fields) -> User:
    """Create a user directly in the database (for tests that are not about registering)."""
    user = User(
        email=email,
        name=name,
        password_hash=hash_password(password),
        email_verified_at=utcnow() if verified else None,
        **fields,
    )
    db.session.add(user)
    db.session.commit()
    return user


def register_user(client, email="new@example.com", name="Nina New", password=PASSWORD, **headers):
    return client.post(
        "/auth/register",
        data={"name": name, "email": email, "password": password, "confirm": password},
        headers=headers,
    )


def login_as(client, email="reader@example.com", password=PASSWORD, remember=False):
    data = {"email": email, "password": password}
    if remember:
        data["remember"] = "y"
    return client.post("/auth/login", data=data)


def logout(client):
    return client.post("/auth/logout")


def link_in(message, path_prefix: str) -> str:
    """The first link in an email's text part that contains ``path_prefix``."""
    body = message.get_body(preferencelist=("plain",)).get_content()
    match = re.search(r"https?://\S*" + re.escape(path_prefix) + r"\S*", body)
    assert match, f"no link with {path_prefix} in: {body}"
    return match.group(0)


def path_of(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)
