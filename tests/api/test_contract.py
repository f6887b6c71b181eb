"""The API keeps its contract: schemathesis generates requests from the OpenAPI document and checks
every answer (no 5xx, only documented status codes and content types, bodies matching their schemas).

The document is the one /api/v1/openapi.json serves, and it must be valid OpenAPI 3.1 with every
schema valid JSON Schema 2020-12. It is loaded with ``from_dict`` at import and each operation runs
as a subtest: schemathesis' lazy ``from_fixture`` loader reads ``request.node._nodeid``, which
pytest 9 no longer has.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jsonschema_rs
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.specs.openapi.definitions import OPENAPI_31

from app.api.openapi import document
from app.api.tokens import issue_tokens
from app.contests.services import create_contest, open_contest
from app.donations.services import create_donation
from app.extensions import db
from app.models import CartItem, Club, ContestKind, MemberStatus, Metric, User
from app.notifications.inbox import notify
from app.orders.services import create_order_from_cart
from tests.clubs import add_member, start_club
from tests.factories import make_book
from tests.helpers import make_user

# TestingConfig's short SECRET_KEY makes PyJWT warn on every token; production keys are long.
pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def seed_world() -> User:
    """A reader with something in every list: a club of each kind, an order, a donation, a
    contest and a notification, so that the answers' bodies are checked, not only their 404s."""
    reader = make_user()
    book = make_book(title="Dune")
    public = start_club(owner_email="owner@example.com", name="Paris Readers")
    add_member(public.id, reader.email, reader.name)
    private = start_club(owner_email=reader.email, name="Secret Circle", visibility="private")
    add_member(private.id, "pending@example.com", "Pat Pending", status=MemberStatus.PENDING)
    db.session.add(CartItem(user_id=reader.id, book_id=book.id, quantity=1))
    db.session.commit()
    create_order_from_cart(reader)
    create_donation(db.session.get(Club, public.id), reader, 500, "For the shelf")
    now = datetime.now(UTC)
    contest = create_contest(
        title="November pages",
        kind=ContestKind.READERS,
        metric=Metric.BOOKS_READ,
        starts_at=now - timedelta(days=1),
        ends_at=now + timedelta(days=30),
    )
    open_contest(contest)
    notify(reader.id, kind="club", key="seed", title="Welcome to Paris Readers", url=f"/clubs/{public.slug}")
    db.session.commit()
    return reader


@pytest.fixture
def access_token(app) -> str:
    """The access token the app would hold for the seeded reader."""
    with app.app_context():
        return issue_tokens(seed_world()).access_token


schema = schemathesis.openapi.from_dict(document())


@schema.parametrize()
@settings(max_examples=25, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_keeps_its_contract(case, app, access_token):
    case.call_and_validate(app=app, headers={"Authorization": f"Bearer {access_token}"}, checks=CHECKS)


def schemas_in(node, where: str = "#"):
    """Every JSON Schema in the document (under ``schema`` keys and components.schemas), with its place."""
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{where}/{key}"
            if key == "schema" and isinstance(value, dict):
                yield here, value
            elif where == "#/components/schemas":
                yield here, value
                continue
            yield from schemas_in(value, here)
    elif isinstance(node, list):
        for n, value in enumerate(node):
            yield from schemas_in(value, f"{where}/{n}")


def test_the_document_is_valid_openapi_3_1(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    served = response.get_json()
    assert served == document()  # what the tests above were generated from
    assert served["openapi"].startswith("3.1.")
    errors = [
        f"{'/'.join(map(str, e.instance_path))}: {e.message}" for e in jsonschema_rs.iter_errors(OPENAPI_31, served)
    ]
    assert errors == []
    bad = [where for where, schema in schemas_in(served) if not jsonschema_rs.meta.is_valid(schema)]
    assert bad == []
    ids = [op["operationId"] for ops in served["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids)), "operationId must be unique"
