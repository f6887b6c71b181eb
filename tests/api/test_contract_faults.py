"""Where the published contract and the API disagreed, as a generated client (or schemathesis) met it:
a body the document allows must not be refused as invalid, and a body it forbids must be refused."""

from __future__ import annotations

import jsonschema_rs
import pytest

from app import create_app
from tests.api import API, api_login, bearer, open_reader_contest, problem_of, published_document
from tests.clubs import add_member, start_club
from tests.conftest import make_config
from tests.helpers import make_user

SHELL = {"User-Agent": "Mozilla/5.0 BookCommerceShell/1.0"}


def allows(path: str, method: str, body) -> bool:
    """Whether the published document allows ``body`` for this operation."""
    document = published_document()
    schema = document["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
    validator = jsonschema_rs.Draft202012Validator({**schema, "components": document["components"]})
    return validator.is_valid(body)


@pytest.fixture
def token(app, client) -> dict[str, str]:
    with app.app_context():
        make_user()
    return bearer(api_login(client))


def test_signing_in_with_an_empty_email_is_refused_by_the_contract_too(client, token):
    body = {"email": "", "password": "secret"}
    assert not allows("/auth/token", "post", body)
    assert set(problem_of(client.post(f"{API}/auth/token", json=body), 422)["errors"]) == {"email"}


@pytest.mark.parametrize("operation", ["refresh", "logout"])
def test_a_refresh_token_of_the_wrong_shape_is_refused_by_the_contract_too(client, token, operation):
    for wrong in ("", "not a token", "x" * 44):
        assert not allows(f"/auth/{operation}", "post", {"refresh_token": wrong}), wrong
        response = client.post(f"{API}/auth/{operation}", json={"refresh_token": wrong})
        assert set(problem_of(response, 422)["errors"]) == {"refresh_token"}
    # A token of the right shape that was never issued is not valid input, but an unknown token.
    assert allows(f"/auth/{operation}", "post", {"refresh_token": "A" * 43})
    expected = 401 if operation == "refresh" else 204
    assert client.post(f"{API}/auth/{operation}", json={"refresh_token": "A" * 43}).status_code == expected


def test_an_isbn_of_nineteen_zeros_is_refused_by_the_contract_too(app, client, token):
    with app.app_context():
        club = start_club(name="Paris Readers")
        add_member(club.id, "reader@example.com", "Rosa Reader")
    body = {"title": "Dune", "author": "Frank Herbert", "isbn": "0" * 19, "condition": "good"}
    assert not allows("/clubs/{slug}/book-offers", "post", body)
    response = client.post(f"{API}/clubs/{club.slug}/book-offers", json=body, headers=token)
    assert set(problem_of(response, 422)["errors"]) == {"isbn"}
    for isbn in ("", "978-0-441-17271-9", "0441172717"):
        assert allows("/clubs/{slug}/book-offers", "post", {**body, "isbn": isbn}), isbn


def test_answers_that_miss_the_clubs_questions_are_a_conflict_not_invalid_input(app, client, token):
    with app.app_context():
        club = start_club(name="Secret Circle", visibility="private", join_questions=["Why us?"])
    body = {"answers": {"Something else?": "Yes"}}
    assert allows("/clubs/{slug}/join", "post", body)  # the document cannot know the club's questions
    response = client.post(f"{API}/clubs/{club.slug}/join", json=body, headers=token)
    assert problem_of(response, 409)["errors"] == {"answers": ["Please answer every question."]}
    asked = client.post(f"{API}/clubs/{club.slug}/join", json={"answers": {"Why us?": "Books."}}, headers=token)
    assert asked.status_code == 201


def test_entering_a_contest_with_an_empty_club_is_refused_by_the_contract_too(app, client, token):
    with app.app_context():
        contest_id = open_reader_contest()
    assert not allows("/contests/{contest_id}/entries", "post", {"club": ""})
    response = client.post(f"{API}/contests/{contest_id}/entries", json={"club": ""}, headers=token)
    assert set(problem_of(response, 422)["errors"]) == {"club"}


def test_a_web_session_body_that_is_not_an_object_is_refused(client, token):
    assert not allows("/auth/web-session", "post", [None, None])
    problem_of(client.post(f"{API}/auth/web-session", json=[None, None], headers=token), 400)
    assert client.post(f"{API}/auth/web-session", headers=token).status_code == 201  # no body: the home page


def test_the_donation_answer_gives_absolute_urls(app, client, token):
    with app.app_context():
        club = start_club(name="Paris Readers")
        add_member(club.id, "reader@example.com", "Rosa Reader")
    response = client.post(f"{API}/clubs/{club.slug}/donations", json={"amount_cents": 500}, headers=token)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["url"].startswith(app.config["BASE_URL"])
    assert body["checkout_url"].startswith(app.config["BASE_URL"])


def test_a_used_web_session_link_says_so_and_offers_to_sign_in_again(client, token):
    url = client.post(f"{API}/auth/web-session", json={"next": "/account"}, headers=token).get_json()["url"]
    assert client.get(url, headers=SHELL).status_code == 302
    again = client.get(url, headers=SHELL)
    page = again.get_data(as_text=True)
    assert again.status_code == 400
    assert "already used" in page
    assert "Sign in again" in page
    assert "Reset your password" not in page


def test_donation_bounds_are_the_configured_ones_in_the_check_and_the_document(
    app, client, token, base_settings, monkeypatch
):
    with app.app_context():
        club = start_club(name="Paris Readers")
        add_member(club.id, "reader@example.com", "Rosa Reader")
    monkeypatch.setitem(app.config, "DONATION_MAX_CENTS", 2_000)  # read when the request is checked
    response = client.post(f"{API}/clubs/{club.slug}/donations", json={"amount_cents": 2_500}, headers=token)
    assert problem_of(response, 422)["errors"] == {"amount_cents": ["Give an amount in cents from 100 to 2000."]}
    other = create_app(make_config(**base_settings, DONATION_MIN_CENTS=500, DONATION_MAX_CENTS=3_000))
    amount = other.test_client().get(f"{API}/openapi.json").get_json()["components"]["schemas"]["DonationRequest"]
    assert (amount["properties"]["amount_cents"]["minimum"], amount["properties"]["amount_cents"]["maximum"]) == (
        500,
        3_000,
    )
