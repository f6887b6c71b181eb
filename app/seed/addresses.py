"""Demo addresses: each demo login has a default address, each demo club a delivery address.

Through the address services, so the demo data passes the same country rules as a reader's input.
Safe to run again: a reader with an address, or a club with a delivery address, is left alone.
"""

from __future__ import annotations

from sqlalchemy import select

from app.accounts.services import find_user_by_email
from app.addresses.services import add_address, addresses_for, club_delivery_address, set_club_delivery_address
from app.extensions import db
from app.models import Club

READER_ADDRESSES = {
    "reader@example.com": {
        "full_name": "Rosa Reader",
        "line1": "350 Fifth Avenue",
        "line2": "Floor 21",
        "city": "New York",
        "country_area": "NY",
        "postal_code": "10118",
        "country_code": "US",
    },
    "owner@example.com": {
        "full_name": "Omar Owner",
        "line1": "12 rue de Rivoli",
        "city": "Paris",
        "postal_code": "75004",
        "country_code": "FR",
    },
    "admin@example.com": {
        "full_name": "Ada Admin",
        "line1": "221B Baker Street",
        "city": "London",
        "postal_code": "NW1 6XE",
        "country_code": "GB",
    },
}
CLUB_ADDRESSES = {
    "Paris Page Turners": ("FR", "Librairie du Marais", "8 rue des Archives", "Paris", "", "75004"),
    "Lyon Mystery Circle": ("FR", "Bibliothèque de la Part-Dieu", "30 boulevard Vivier-Merle", "Lyon", "", "69003"),
    "Berlin Night Readers": ("DE", "Kiezbuchladen", "Oranienstraße 25", "Berlin", "", "10999"),
    "Brooklyn Sci-Fi Society": ("US", "Brooklyn Public Library", "10 Grand Army Plaza", "Brooklyn", "NY", "11238"),
    "Lisbon Poetry Table": ("PT", "Livraria Poesia", "Rua da Rosa 12", "Lisboa", "", "1200-385"),
}


def seed_addresses() -> str:
    """Give the demo logins and clubs their addresses where they have none; returns a line to print."""
    readers = clubs = 0
    for email, data in READER_ADDRESSES.items():
        user = find_user_by_email(email)
        if user is not None and not addresses_for(user):
            add_address(user, data, make_default=True)
            readers += 1
    for name, (country, company, line1, city, area, postcode) in CLUB_ADDRESSES.items():
        club = db.session.scalar(select(Club).where(Club.name == name))
        if club is None or club_delivery_address(club) is not None:
            continue
        data = {
            "full_name": f"{name} (club delivery)",
            "company": company,
            "line1": line1,
            "city": city,
            "country_area": area,
            "postal_code": postcode,
            "country_code": country,
        }
        set_club_delivery_address(club, None, data)
        clubs += 1
    return f"Demo addresses: {readers} reader address(es) and {clubs} club delivery address(es) added."
