"""The shell's address book: the same rules and sentences as the site, as problem details."""

import pytest

from tests.addresses import LONDON, NEW_YORK, PARIS
from tests.api import API, api_login, assert_shape, bearer, problem_of
from tests.helpers import make_user

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")


@pytest.fixture
def token(client, app):
    with app.app_context():
        make_user(email="reader@example.com")
        make_user(email="other@example.com")
    return api_login(client, "reader@example.com")


def test_add_list_read_change_delete(client, token):
    auth = bearer(token)
    created = client.post(f"{API}/me/addresses", json=PARIS, headers=auth)
    assert created.status_code == 201
    paris = created.get_json()
    assert_shape(paris, "Address")
    assert paris["is_default"] is True and paris["country_name"] == "France"
    assert paris["lines"] == ["Ana Lima", "12 rue de Rivoli", "75008 PARIS", "FRANCE"]
    ny = client.post(f"{API}/me/addresses", json={**NEW_YORK, "is_default": True}, headers=auth).get_json()
    listed = client.get(f"{API}/me/addresses", headers=auth).get_json()
    assert_shape(listed, "AddressPage")
    assert [a["id"] for a in listed["items"]] == [ny["id"], paris["id"]] and listed["total"] == 2
    assert client.get(f"{API}/me/addresses/{paris['id']}", headers=auth).get_json()["is_default"] is False

    changed = client.patch(f"{API}/me/addresses/{paris['id']}", json={"line2": "Bâtiment B"}, headers=auth)
    assert changed.status_code == 200 and changed.get_json()["line2"] == "Bâtiment B"
    moved = client.patch(f"{API}/me/addresses/{paris['id']}", json=LONDON, headers=auth).get_json()
    assert moved["country_code"] == "GB" and moved["lines"][-2:] == ["NW1 6XE", "UNITED KINGDOM"]

    assert client.delete(f"{API}/me/addresses/{ny['id']}", headers=auth).status_code == 204
    problem_of(client.get(f"{API}/me/addresses/{ny['id']}", headers=auth), 404)
    assert client.get(f"{API}/me/addresses/{paris['id']}", headers=auth).get_json()["is_default"] is True


def test_country_rules_answer_as_problem_details_naming_the_field(client, token):
    auth = bearer(token)
    problem = problem_of(client.post(f"{API}/me/addresses", json={**NEW_YORK, "postal_code": "1"}, headers=auth), 422)
    assert problem["errors"] == {"postal_code": ["Enter a ZIP code like 95014."]}
    problem = problem_of(client.post(f"{API}/me/addresses", json={**NEW_YORK, "country_area": ""}, headers=auth), 422)
    assert problem["errors"] == {"country_area": ["Choose a state."]}
    problem = problem_of(client.post(f"{API}/me/addresses", json={"country_code": "FR"}, headers=auth), 422)
    assert set(problem["errors"]) == {"full_name", "line1"}
    paris = client.post(f"{API}/me/addresses", json=PARIS, headers=auth).get_json()
    problem = problem_of(
        client.patch(f"{API}/me/addresses/{paris['id']}", json={"postal_code": "7"}, headers=auth), 422
    )
    assert problem["errors"] == {"postal_code": ["Enter a postal code like 33380."]}


def test_another_readers_address_is_not_found(client, token):
    paris = client.post(f"{API}/me/addresses", json=PARIS, headers=bearer(token)).get_json()
    other = bearer(api_login(client, "other@example.com"))
    problem_of(client.get(f"{API}/me/addresses/{paris['id']}", headers=other), 404)
    problem_of(client.patch(f"{API}/me/addresses/{paris['id']}", json={"city": "Lyon"}, headers=other), 404)
    problem_of(client.delete(f"{API}/me/addresses/{paris['id']}", headers=other), 404)
    assert client.get(f"{API}/me/addresses", headers=other).get_json()["items"] == []
    problem_of(client.get(f"{API}/me/addresses"), 401)


def test_a_change_without_a_body_is_refused_and_an_empty_one_changes_nothing(client, token):
    auth = bearer(token)
    paris = client.post(f"{API}/me/addresses", json=PARIS, headers=auth).get_json()
    missing = problem_of(client.patch(f"{API}/me/addresses/{paris['id']}", headers=auth), 400)
    assert missing["detail"] == "Send a JSON object with the fields to change."
    unchanged = client.patch(f"{API}/me/addresses/{paris['id']}", json={}, headers=auth)
    assert unchanged.status_code == 200 and unchanged.get_json()["lines"] == paris["lines"]
