"""The API keeps its contract: schemathesis generates requests from the OpenAPI document the app
serves and checks every answer with all its checks (no 5xx, only documented status codes, content
types and headers, bodies matching their schemas, schema-valid requests accepted, invalid ones
refused, auth not ignored, ...), through its examples, coverage and fuzzing phases for each
operation, and its stateful phase along the document's links (sign in, join a club, give to it,
read notifications, refresh, log out). Derandomized, with bounded examples so CI stays quick.

The same document is checked as OpenAPI 3.1 with every schema valid JSON Schema 2020-12.
"""

from __future__ import annotations

import re

import jsonschema_rs
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import ignored_auth
from schemathesis.specs.openapi.definitions import OPENAPI_31

import tests.api.contract_hooks  # noqa: F401  (the isbn format)
from app.accounts.refresh_tokens import issue_tokens
from app.donations.services import create_donation
from app.extensions import db
from app.models import CartItem, Club, MemberStatus, User
from app.notifications.inbox import notify
from app.orders.services import create_order_from_cart
from tests.api import API, open_reader_contest, published_document
from tests.clubs import add_member, start_club
from tests.factories import make_book
from tests.helpers import PASSWORD, make_user

# TestingConfig's short SECRET_KEY makes PyJWT warn on every token; production keys are long.
pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")

MAX_EXAMPLES = 15
ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]  # schemathesis' default
CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": 11,
        "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True},
        "checks": {"enabled": True},
        "phases": {"examples": {"enabled": True}, "coverage": {"enabled": True}, "fuzzing": {"enabled": True}},
        "operations": [
            {
                # A country's rules (its postcode shape, a required state) are beyond JSON Schema, as an
                # ISBN's check digit is: a well-formed address may still be refused, 422 naming the field.
                # A quote also needs exactly one of address_id / address, a cart, a country the shop
                # ships to and a code it knows: 422 naming the field.
                "include-operation-id": ["addMyAddress", "updateMyAddress", "quoteMyCart"],
                "checks": {"positive_data_acceptance": {"expected-statuses": [*ACCEPTED, "422"]}},
            }
        ],
    }
)
schema = schemathesis.openapi.from_dict(published_document(), config=CONFIG)
TOKEN: dict[str, str] = {}  # the seeded reader's, for the test running


@schema.auth(refresh_interval=None)
class SeededReader:
    """The seeded reader's access token, on every call that does not test its absence."""

    def get(self, case, context):
        return TOKEN.get("access", "")  # asked once at collection, before any reader exists

    def set(self, case, data, context):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


HYPOTHESIS = settings(
    max_examples=MAX_EXAMPLES, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck)
)


def seed_world() -> User:
    """A reader with something in every list: a club of each kind, one to join, an order, a donation,
    a contest and a notification, so that the answers' bodies are checked, not only their 404s."""
    reader = make_user()
    book = make_book(title="Dune")
    start_club(owner_email="owner@example.com", name="Another Club")  # one to join
    public = start_club(owner_email="owner@example.com", name="Paris Page Turners")  # the document's example
    add_member(public.id, reader.email, reader.name)
    private = start_club(owner_email=reader.email, name="Secret Circle", visibility="private")
    add_member(private.id, "pending@example.com", "Pat Pending", status=MemberStatus.PENDING)
    db.session.add(CartItem(user_id=reader.id, book_id=book.id, quantity=1))
    db.session.commit()
    create_order_from_cart(reader)
    create_donation(db.session.get(Club, public.id), reader, 500, "For the shelf")
    open_reader_contest()
    notify(reader.id, kind="club", key="seed", title="Welcome to Paris Readers", url=f"/clubs/{public.slug}")
    db.session.commit()
    return reader


@pytest.fixture
def access_token(app) -> str:
    """The access token the app would hold for the seeded reader."""
    with app.app_context():
        TOKEN["access"] = issue_tokens(seed_world()).access_token
    return TOKEN["access"]


@schema.parametrize()
@HYPOTHESIS
def test_every_operation_keeps_its_contract(case, app, access_token):
    # Checks that call again (is auth ignored? is it gone after a delete?) reach the same app.
    case.operation.app = case.operation.schema.app = app
    case.call_and_validate()


def test_the_links_keep_the_contract_too(app, access_token):
    """The stateful phase: chains of calls along the document's links, each answer checked; the
    chains sign in, join a club, give to it, read notifications, refresh and log out."""
    schema.app = app
    answered: set[tuple[str, int]] = set()

    class Workflow(schema.as_state_machine()):
        def before_call(self, case):
            if case.operation.label == "POST /auth/token":  # sign in as the seeded reader
                case.body = {"email": "reader@example.com", "password": PASSWORD}

        def get_call_kwargs(self, case):
            # The seeded reader's token, unless a link handed on the one a sign-in answered, or the
            # case was made to break its headers (leaving Authorization out is what it tests: adding
            # the token back would make a valid request that schemathesis expects to be refused).
            if "Authorization" in (case.headers or {}):
                return {}
            if case.meta is not None and case.meta.is_negative_at(ParameterLocation.HEADER):
                return {}
            return {"headers": {"Authorization": f"Bearer {access_token}"}}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            # The seeded token passed in get_call_kwargs would go with the calls ignored_auth makes to
            # see a missing token refused: that check runs in the per-operation test above instead.
            case.validate_response(
                response,
                additional_checks=additional_checks,
                excluded_checks=[ignored_auth],
                transport_kwargs=kwargs or None,
                recorder=self.recorder,
            )

        def after_call(self, response, case):
            super().after_call(response, case)
            answered.add((case.operation.label, response.status_code))

    Workflow.run(settings=settings(HYPOTHESIS, max_examples=25, stateful_step_count=8))
    assert ("POST /auth/token", 200) in answered  # the chains start signed in


def follow(document: dict, operation_id: str, status: int, name: str, answer: dict) -> dict:
    """The request a documented link makes from ``answer``: path, query, headers and body filled in."""
    found = next(
        op
        for ops in document["paths"].values()
        for op in ops.values()
        if isinstance(op, dict) and op.get("operationId") == operation_id
    )
    link = found["responses"][str(status)]["links"][name]

    def value(expression):
        if isinstance(expression, dict):
            return {key: value(item) for key, item in expression.items()}
        if isinstance(expression, list):
            return [value(item) for item in expression]
        if expression is None or not expression.startswith("$"):
            return expression if expression is None or "{$" not in expression else template(expression)
        if expression.startswith("$response.body#"):
            return jsonpointer(answer, expression.removeprefix("$response.body#"))
        raise AssertionError(f"an expression this test cannot follow: {expression}")

    def template(text: str) -> str:
        return re.sub(r"\{(\$[^}]+)\}", lambda m: str(value(m.group(1))), text)

    target = next(
        (path, method)
        for path, ops in document["paths"].items()
        for method, op in ops.items()
        if isinstance(op, dict) and op.get("operationId") == link["operationId"]
    )
    request = {"path": target[0], "method": target[1].upper(), "headers": {}, "json": value(link.get("requestBody"))}
    for key, expression in link.get("parameters", {}).items():
        where, _, parameter = key.partition(".")
        if where == "path":
            request["path"] = request["path"].replace(f"{{{parameter}}}", str(value(expression)))
        else:
            request["headers"][parameter] = value(expression)
    return request


def jsonpointer(document, pointer: str):
    for part in filter(None, pointer.split("/")):
        document = document[int(part)] if isinstance(document, list) else document[part]
    return document


def test_the_documented_links_walk_a_reader_through_the_shell(app, client, access_token):
    """Sign in, find a club, join it, give to it, read the notifications, refresh and log out, each
    call made from the previous answer the way the document's links say."""
    document = client.get(f"{API}/openapi.json").get_json()

    def call(request: dict, status: int, **extra) -> dict:
        json = {**(request["json"] or {}), **extra} if request["json"] or extra else None
        response = client.open(API + request["path"], method=request["method"], headers=request["headers"], json=json)
        assert response.status_code == status, (request, response.get_json())
        return response.get_json() if response.data else {}

    tokens = call(
        {"path": "/auth/token", "method": "POST", "headers": {}, "json": {}},
        200,
        email="reader@example.com",
        password=PASSWORD,
    )
    clubs = call(follow(document, "createToken", 200, "clubs", tokens), 200)
    signed_in = {"Authorization": f"Bearer {tokens['access_token']}"}
    join = follow(document, "listClubs", 200, "join", clubs)
    joined = call({**join, "headers": signed_in}, 201)
    assert joined["status"] == "active"
    donation = call(
        {**follow(document, "joinClub", 201, "donate", joined), "headers": signed_in}, 201, amount_cents=500
    )
    call({**follow(document, "donateToClub", 201, "notifications", donation), "headers": signed_in}, 200)
    rotated = call(follow(document, "createToken", 200, "refresh", tokens), 200)
    call(follow(document, "refreshToken", 200, "logout", rotated), 204)
    call(follow(document, "createToken", 200, "refresh", tokens), 401)  # the family ended


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


def test_the_document_is_valid_openapi_3_1_and_served_with_an_etag(client):
    response = client.get(f"{API}/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    served = response.get_json()
    assert served == published_document()  # what the tests above were generated from
    assert served["openapi"].startswith("3.1.")
    errors = [
        f"{'/'.join(map(str, e.instance_path))}: {e.message}" for e in jsonschema_rs.iter_errors(OPENAPI_31, served)
    ]
    assert errors == []
    bad = [where for where, schema in schemas_in(served) if not jsonschema_rs.meta.is_valid(schema)]
    assert bad == []
    ids = [op["operationId"] for ops in served["paths"].values() for op in ops.values() if "operationId" in op]
    assert len(ids) == len(set(ids)), "operationId must be unique"
    again = client.get(f"{API}/openapi.json", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304
