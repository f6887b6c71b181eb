"""The address form: every field a country may ask for; the template shows the ones it does."""

from flask import request
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField

from app.addresses.rules import countries
from app.addresses.services import FIELDS, AddressInvalid

DEFAULT_COUNTRY = "US"


class AddressForm(FlaskForm):
    # No validators here: the country's rules are in services.validate_address, one place for all.
    country_code = SelectField("Country", choices=[], validate_choice=False)
    full_name = StringField("Full name")
    company = StringField("Company")
    line1 = StringField("Street address")
    line2 = StringField("Apartment, suite, floor")
    city = StringField("City")
    city_area = StringField("District")
    country_area = StringField("Region")
    postal_code = StringField("Postal code")
    phone = StringField("Phone")
    make_default = BooleanField("Use as my default address")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.country_code.choices = list(countries())
        if not self.country_code.data:
            self.country_code.data = DEFAULT_COUNTRY

    @staticmethod
    def data_of(address) -> dict:
        return {name: getattr(address, name) for name in FIELDS} | {"make_default": address.is_default}

    def to_data(self) -> dict[str, str]:
        return {name: self[name].data or "" for name in FIELDS}

    def show_errors(self, exc: AddressInvalid) -> None:
        """Put each of the country's messages next to its field."""
        for name, message in exc.errors.items():
            self[name].errors = [message]

    @property
    def wants_fields_update(self) -> bool:
        """The no-JavaScript "Update fields" button: show the new country's fields, save nothing."""
        return "update_fields" in request.form
