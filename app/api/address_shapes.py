"""The shapes of a reader's addresses (see shapes.py for how shapes work).

The request shapes check only what JSON can say (text, lengths); each country's rules (which
fields it needs, how its postcodes look) are the services', answered as a 422 naming the field.
"""

from __future__ import annotations

from marshmallow import fields, validate

from app.addresses.services import FIELD_MAX
from app.api.fields import Flag, Text, Timestamp
from app.api.shapes import In, Out, page_of

COUNTRY_CODE = r"^[A-Za-z]{2}$"
DESCRIPTIONS = {
    "full_name": "The person who receives the parcel.",
    "line1": "The street address.",
    "line2": "Apartment, suite, floor.",
    "city_area": "District or suburb, where the country uses one.",
    "country_area": "State, province or region, where the country uses one (a state's code or name).",
    "postal_code": "ZIP code, postcode or postal code, in the country's format.",
}


def _address_fields(required: bool) -> dict[str, fields.Field]:
    found: dict[str, fields.Field] = {
        "country_code": Text(
            2,
            required=required,
            validate=validate.Regexp(COUNTRY_CODE, error="Give the country's two-letter ISO code."),
            metadata={"description": "ISO 3166-1 alpha-2, e.g. US, GB, FR."},
        ),
    }
    for name, longest in FIELD_MAX.items():
        if name != "country_code":
            needed = required and name in ("full_name", "line1")
            found[name] = Text(longest, required=needed, metadata={"description": DESCRIPTIONS.get(name, "")})
    found["is_default"] = Flag(metadata={"description": "Make it your default address."})
    return found


AddressRequest = In.from_dict(_address_fields(required=True), name="AddressRequest")
AddressChanges = In.from_dict(_address_fields(required=False), name="AddressChanges")


class Address(Out):
    id = fields.Integer()
    country_code = fields.String()
    country_name = fields.String()
    full_name = fields.String()
    company = fields.String()
    line1 = fields.String()
    line2 = fields.String()
    city = fields.String()
    city_area = fields.String()
    country_area = fields.String()
    postal_code = fields.String()
    phone = fields.String()
    is_default = fields.Boolean()
    lines = fields.List(fields.String(), metadata={"description": "The address as the post writes it."})
    created_at = Timestamp()
    updated_at = Timestamp()


AddressPage = page_of(Address, "AddressPage")
