"""A reader's address book: add, edit, delete, default; nobody else's addresses."""

from sqlalchemy import select

from app.extensions import db
from app.models import Address
from tests.addresses import LONDON, NEW_YORK, PARIS
from tests.helpers import PASSWORD, login_as, make_user

HTMX = {"HX-Request": "true", "HX-Request-Type": "partial"}


def add(client, data, **extra):
    return client.post("/account/addresses/new", data={**data, **extra})


def signed_in(app, client, email="reader@example.com"):
    with app.app_context():
        make_user(email=email)
    login_as(client, email)


def test_account_page_links_to_the_address_book(app, client):
    signed_in(app, client)
    assert "/account/addresses" in client.get("/account").get_data(as_text=True)


def test_add_an_address_and_see_it_formatted(app, client):
    signed_in(app, client)
    response = add(client, NEW_YORK)
    assert response.status_code == 303
    page = client.get("/account/addresses").get_data(as_text=True)
    assert "NEW YORK, NY 10118" in page and "Default address" in page


def test_bad_postal_code_is_refused_in_place_and_nothing_typed_is_lost(app, client):
    signed_in(app, client)
    response = add(client, {**PARIS, "postal_code": "750", "line2": "Bâtiment B"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Enter a postal code like 33380." in page
    for typed in ("Ana Lima", "12 rue de Rivoli", "Bâtiment B", "Paris", 'value="750"'):
        assert typed in page
    with app.app_context():
        assert db.session.scalar(select(Address)) is None


def test_us_form_asks_for_a_state_and_zip_code(app, client):
    signed_in(app, client)
    page = client.get("/account/addresses/new?country_code=US").get_data(as_text=True)
    assert "ZIP code" in page and "State" in page and "Alabama" in page
    response = add(client, {**NEW_YORK, "country_area": ""})
    assert response.status_code == 422 and "Choose a state." in response.get_data(as_text=True)


def test_changing_country_rerenders_the_fields_keeping_what_was_typed(app, client):
    response = client.get("/addresses/fields", query_string={**NEW_YORK, "country_code": "GB"}, headers=HTMX)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and page.lstrip().startswith('<div id="address-fields">')
    assert "Postcode" in page and ">State<" not in page and "Rosa Reader" in page and "350 Fifth Avenue" in page
    page = client.get("/addresses/fields", query_string={"country_code": "FR"}).get_data(as_text=True)
    assert 'name="country_area"' not in page


def test_without_javascript_update_fields_shows_the_new_country(app, client):
    signed_in(app, client)
    response = add(client, {**NEW_YORK, "country_code": "CA"}, update_fields="1")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Province" in page and "Alberta" in page and "Rosa Reader" in page
    assert "field-error" not in page
    with app.app_context():
        assert db.session.scalar(select(Address)) is None


def test_default_moves_and_deleting_the_default_hands_it_on(app, client):
    signed_in(app, client)
    add(client, PARIS)
    add(client, LONDON)
    add(client, NEW_YORK, make_default="y")
    with app.app_context():
        rows = {a.city: a for a in db.session.scalars(select(Address))}
        assert [a.city for a in rows.values() if a.is_default] == ["New York"]
        paris_id, ny_id = rows["Paris"].id, rows["New York"].id
    client.post(f"/account/addresses/{paris_id}/default")
    page = client.get("/account/addresses").get_data(as_text=True)
    assert page.index("75008 PARIS") < page.index("NEW YORK")  # the default first
    assert "Delete this address?" in client.get(f"/account/addresses/{paris_id}/delete").get_data(as_text=True)
    assert client.post(f"/account/addresses/{paris_id}/delete").status_code == 303
    with app.app_context():
        left = list(db.session.scalars(select(Address)))
        assert len(left) == 2 and [a.city for a in left if a.is_default] == ["New York"]  # the newest other one
    response = client.post(
        f"/account/addresses/{ny_id}/edit", data={**NEW_YORK, "city": "Brooklyn", "postal_code": "11201"}
    )
    assert response.status_code == 303
    assert "BROOKLYN, NY 11201" in client.get("/account/addresses").get_data(as_text=True)


def test_another_readers_address_is_not_found(app, client):
    signed_in(app, client)
    add(client, PARIS)
    client.post("/auth/logout")
    signed_in(app, client, "other@example.com")
    with app.app_context():
        theirs = db.session.scalar(select(Address.id))
    assert client.get(f"/account/addresses/{theirs}/edit").status_code == 404
    assert client.post(f"/account/addresses/{theirs}/edit", data=LONDON).status_code == 404
    assert client.post(f"/account/addresses/{theirs}/delete").status_code == 404
    assert client.post(f"/account/addresses/{theirs}/default").status_code == 404
    assert "Ana Lima" not in client.get("/account/addresses").get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Address, theirs).full_name == "Ana Lima"


def test_the_address_book_needs_a_reader(client):
    assert client.get("/account/addresses").status_code == 302


def test_address_book_runs_the_same_queries_for_one_or_many(app, client, count_queries):
    signed_in(app, client)
    add(client, PARIS)
    with count_queries() as one:
        client.get("/account/addresses")
    for data in (LONDON, NEW_YORK, PARIS):
        add(client, data)
    with count_queries() as many:
        assert client.get("/account/addresses").status_code == 200
    assert many.count == one.count


def test_deleting_the_account_deletes_its_addresses(app, client):
    signed_in(app, client)
    add(client, PARIS)
    response = client.post("/account/delete", data={"password": PASSWORD, "confirm": "y"})
    assert response.status_code == 303
    with app.app_context():
        assert db.session.scalar(select(Address)) is None
