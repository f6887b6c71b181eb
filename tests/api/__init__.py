"""API tests, and the helpers they share: signing in for a token and sending it like the shell does."""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime, timedelta

from tests.helpers import PASSWORD

API = "/api/v1"


def api_login(client, email: str = "reader@example.com", password: str = PASSWORD) -> str:
    """Sign in through the API, as the shell does; the access token."""
    response = client.post(f"{API}/auth/token", json={"email": email, "password": password})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["access_token"]


def bearer(token: str) -> dict[str, str]:
    """The headers that authorise a call with ``token``."""
    return {"Authorization": f"Bearer {token}"}


def problem_of(response, status: int) -> dict:
    """The problem details of an error answer, after checking its status and media type."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == status
    return body


def open_reader_contest(title: str = "November pages") -> int:
    """A readers' contest that started yesterday and runs a month (call inside an app context); its id."""
    from app.contests.services import create_contest, open_contest
    from app.models import ContestKind, Metric

    now = datetime.now(UTC)
    contest = create_contest(
        title=title,
        kind=ContestKind.READERS,
        metric=Metric.BOOKS_READ,
        starts_at=now - timedelta(days=1),
        ends_at=now + timedelta(days=30),
    )
    open_contest(contest)
    return contest.id


def published_document() -> dict:
    """The OpenAPI document an app with the test configuration serves (a fresh copy: callers may change it)."""
    return json.loads(_published())


@functools.cache
def _published() -> str:
    from app import create_app
    from config import TestingConfig

    return create_app(TestingConfig).test_client().get(f"{API}/openapi.json").get_data(as_text=True)


def assert_shape(body, schema: str) -> None:
    """The body is what the published contract promises (the schema in /api/v1/openapi.json)."""
    import jsonschema_rs

    validator = jsonschema_rs.Draft202012Validator(
        {"$ref": f"#/components/schemas/{schema}", "components": published_document()["components"]},
        validate_formats=True,
    )
    errors = [error.message for error in validator.iter_errors(body)]
    assert not errors, errors
