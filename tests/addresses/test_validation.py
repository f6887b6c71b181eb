"""Each country's rules: what it requires, how its postcodes look, what it calls its fields."""

import pytest

from app.addresses.services import AddressInvalid, address_form_rules, address_lines, snapshot, validate_address
from tests.addresses import LONDON, NEW_YORK, PARIS


def errors_of(data):
    with pytest.raises(AddressInvalid) as caught:
        validate_address(data)
    return caught.value.errors


def test_us_needs_zip_code_and_state():
    errors = errors_of({**NEW_YORK, "country_area": "", "postal_code": ""})
    assert errors == {"country_area": "Choose a state.", "postal_code": "Enter the ZIP code."}


def test_us_zip_code_must_look_like_one():
    assert errors_of({**NEW_YORK, "postal_code": "1011"}) == {"postal_code": "Enter a ZIP code like 95014."}


def test_us_state_by_name_is_stored_as_its_code():
    assert validate_address({**NEW_YORK, "country_area": "new york"})["country_area"] == "NY"


def test_gb_postcode_format_and_upper_case():
    assert errors_of({**LONDON, "postal_code": "12345"}) == {"postal_code": "Enter a postcode like EC1Y 8SY."}
    assert validate_address({**LONDON, "postal_code": "nw1 6xe"})["postal_code"] == "NW1 6XE"


def test_fr_has_no_region_and_a_five_digit_postal_code():
    assert "country_area" not in address_form_rules("FR").fields
    assert validate_address({**PARIS, "country_area": "Île-de-France"})["country_area"] == ""
    assert errors_of({**PARIS, "postal_code": "750"}) == {"postal_code": "Enter a postal code like 33380."}


def test_name_street_and_country_are_needed():
    errors = errors_of({**PARIS, "full_name": " ", "line1": ""})
    assert set(errors) == {"full_name", "line1"}
    assert errors_of({**PARIS, "country_code": "ZZ"}) == {"country_code": "Choose a country from the list."}
    assert errors_of({**PARIS, "country_code": ""}) == {"country_code": "Choose a country."}


def test_labels_follow_the_country():
    us, gb, ca = address_form_rules("US"), address_form_rules("GB"), address_form_rules("CA")
    assert us.label("postal_code") == "ZIP code" and us.label("country_area") == "State"
    assert ("NY", "New York") in us.area_choices
    assert gb.label("postal_code") == "Postcode"
    assert ca.label("country_area") == "Province"


def test_lines_are_written_the_country_way():
    assert address_lines(validate_address(NEW_YORK)) == [
        "Rosa Reader",
        "350 Fifth Avenue",
        "Floor 21",
        "NEW YORK, NY 10118",
        "UNITED STATES",
    ]
    assert address_lines(PARIS)[-2:] == ["75008 PARIS", "FRANCE"]
    copy = snapshot(PARIS)
    assert copy["country_name"] == "France" and copy["lines"][0] == "Ana Lima" and copy["postal_code"] == "75008"
