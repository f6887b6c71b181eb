"""POST /api/v1/me/cart/quote: the shell prices the reader's cart for an address, as the review does."""

import pytest

from app.addresses.services import add_address
from app.extensions import db
from app.models import CartItem
from tests.api import API, api_login, bearer, problem_of
from tests.factories import make_books
from tests.helpers import make_user
from tests.shop import FR_ADDRESS, US_ADDRESS, method_id, open_shop

URL = f"{API}/me/cart/quote"


@pytest.fixture
def shopper(app, client):
    """A reader with two copies of a $20.00 book in the cart and a saved French address; (headers, address id)."""
    with app.app_context():
        open_shop()
        user = make_user()
        book = make_books([{"title": "Emma", "price": "20.00", "stock": 5}])[0]
        db.session.add(CartItem(user_id=user.id, book_id=book.id, quantity=2))
        db.session.commit()
        address_id = add_address(user, FR_ADDRESS).id
    return bearer(api_login(client)), address_id


def test_a_saved_address_gets_the_options_and_the_cheapest_total(client, shopper):
    headers, address_id = shopper
    response = client.post(URL, json={"address_id": address_id}, headers=headers)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert [o["name"] for o in body["options"]] == ["Colissimo"]
    assert (body["subtotal_cents"], body["shipping_cents"], body["tax_cents"], body["total_cents"]) == (
        4000,
        900,
        270,
        5170,
    )
    assert body["tax_label"] == "TVA 5.5%" and "FRANCE" in body["ship_to"]


def test_an_address_given_whole_with_a_method_and_a_code(app, client, shopper):
    headers, _ = shopper
    with app.app_context():
        express = method_id("Express")
    body = {"address": US_ADDRESS, "method_id": express, "discount_code": "welcome10"}
    answer = client.post(URL, json=body, headers=headers).get_json()
    assert (answer["discount_code"], answer["discount_cents"], answer["shipping_cents"]) == ("WELCOME10", 400, 1500)
    assert answer["total_cents"] == 4000 - 400 + 1500


def test_refusals_are_problem_details_naming_the_field(client, shopper):
    headers, address_id = shopper
    japan = {**US_ADDRESS, "country_code": "JP", "country_area": "Tokyo", "postal_code": "100-0001", "city": "Chiyoda"}
    problem = problem_of(client.post(URL, json={"address": japan}, headers=headers), 422)
    assert problem["errors"]["address"] == ["We don't ship to Japan yet"]
    problem = problem_of(
        client.post(URL, json={"address_id": address_id, "discount_code": "NOPE"}, headers=headers), 422
    )
    assert problem["errors"]["discount_code"] == ["We don't know the code NOPE"]
    bad_postcode = {**FR_ADDRESS, "postal_code": "ABC"}
    problem = problem_of(client.post(URL, json={"address": bad_postcode}, headers=headers), 422)
    assert "address.postal_code" in problem["errors"]
    problem = problem_of(client.post(URL, json={"address_id": 999999}, headers=headers), 422)
    assert problem["errors"]["address_id"] == ["There is no such address in your address book."]
    problem_of(client.post(URL, json={}, headers=headers), 422)
