"""Every club route, walked with every standing: who gets in, who is refused, and how.

Outcomes: "ok" (the action ran, or refused for a business reason, e.g. 200/303/409/422),
"login" (sent to log in), "403" (visible club, not allowed), "404" (a private club hiding itself).
"""

from __future__ import annotations

import itertools

import pytest

from app.catalogue.services import book_data_from_row, upsert_books
from app.extensions import db
from app.models import BookOffer, MemberStatus, Role, WishlistItem
from tests.clubs import add_member, start_club
from tests.factories import isbn_for
from tests.helpers import PASSWORD, login_as, make_user

STANDINGS = ["anonymous", "outsider", "pending", "member", "moderator", "owner", "admin"]
_world = itertools.count()

# The least standing each route needs; the checks below turn it into expected outcomes.
ROUTES = [
    # (method, path template, needs)
    ("GET", "/clubs/{slug}", "anyone"),
    ("GET", "/clubs/{slug}/donations", "see"),
    ("GET", "/clubs/{slug}/wishlist", "see"),
    ("GET", "/clubs/{slug}/members", "member"),
    ("GET", "/clubs/{slug}/offers", "member"),
    ("POST", "/clubs/{slug}/offers", "member"),
    ("GET", "/clubs/{slug}/donate", "donor"),
    ("POST", "/clubs/{slug}/wishlist/{wish}/buy", "donor"),
    ("POST", "/clubs/{slug}/join", "joiner"),
    ("POST", "/clubs/{slug}/leave", "member"),
    ("POST", "/clubs/{slug}/members/{target}/approve", "moderator"),
    ("POST", "/clubs/{slug}/members/{target}/decline", "moderator"),
    ("POST", "/clubs/{slug}/offers/{offer}/accept", "moderator"),
    ("POST", "/clubs/{slug}/offers/{offer}/decline", "moderator"),
    ("GET", "/clubs/{slug}/delivery-address", "moderator"),
    ("POST", "/clubs/{slug}/delivery-address", "moderator"),
    ("GET", "/clubs/{slug}/edit", "owner"),
    ("POST", "/clubs/{slug}/edit", "owner"),
    ("GET", "/clubs/{slug}/fund", "owner"),
    ("GET", "/clubs/{slug}/fund.csv", "owner"),
    ("POST", "/clubs/{slug}/wishlist", "owner"),
    ("POST", "/clubs/{slug}/wishlist/{wish}/remove", "owner"),
    ("POST", "/clubs/{slug}/wishlist/buy-from-fund", "owner"),
    ("POST", "/clubs/{slug}/members/{target}/role", "owner"),
    ("POST", "/clubs/{slug}/members/{target}/remove", "owner"),
    ("POST", "/clubs/{slug}/members/{target}/ban", "owner"),
    ("POST", "/clubs/{slug}/members/{target}/unban", "owner"),
    ("POST", "/clubs/{slug}/members/{target}/transfer", "owner"),
    ("POST", "/clubs/{slug}/close", "owner"),
]

LEVEL = {"outsider": 1, "pending": 1, "member": 2, "moderator": 3, "owner": 4, "admin": 4}
NEEDS = {"member": 2, "moderator": 3, "owner": 4}


def expected(needs: str, standing: str, private: bool) -> set[str]:
    signed_in = standing != "anonymous"
    sees_inside = not private or standing in ("member", "moderator", "owner", "admin")
    if needs == "anyone":
        return {"ok"}
    if needs == "joiner":  # only someone with no membership yet
        if not signed_in:
            return {"login"}
        return {"ok"} if standing in ("outsider", "admin") else {"403"}
    if not sees_inside:
        # A private club hides its inside; a visitor may be asked to log in first.
        return {"404", "login"} if not signed_in else {"404"}
    if needs == "see":
        return {"ok"}
    if not signed_in:
        return {"login"}
    if needs == "donor":
        return {"ok"}
    return {"ok"} if LEVEL[standing] >= NEEDS[needs] else {"403"}


def outcome(response) -> str:
    if response.status_code in (301, 302, 303) and "/auth/login" in response.headers.get("Location", ""):
        return "login"
    if response.status_code in (403, 404):
        return str(response.status_code)
    assert response.status_code < 500, response.status_code
    return "ok"


def build_world(app, private: bool) -> dict:
    """A club with one reader in each standing, a target member, a pending offer and a wish."""
    n = next(_world)
    with app.app_context():
        club = start_club(
            owner_email=f"owner{n}@example.com", name=f"Club {n}", visibility="private" if private else "public"
        )
        emails = {"owner": f"owner{n}@example.com"}
        for standing in ("outsider", "pending", "member", "moderator", "admin"):
            emails[standing] = f"{standing}{n}@example.com"
        make_user(email=emails["outsider"], name="Outsider")
        make_user(email=emails["admin"], name="Admin", is_admin=True)
        add_member(club.id, emails["pending"], "Pending", status=MemberStatus.PENDING)
        add_member(club.id, emails["member"], "Member")
        add_member(club.id, emails["moderator"], "Moderator", role=Role.MODERATOR)
        target = add_member(club.id, f"target{n}@example.com", "Target", status=MemberStatus.PENDING)
        upsert_books(
            [
                book_data_from_row(
                    {
                        "isbn": isbn_for(700000 + n),
                        "title": f"Wanted {n}",
                        "authors": "A. Writer",
                        "price": "5.00",
                        "stock": 9,
                    }
                )
            ]
        )
        from app.models import Book

        book = db.session.scalar(db.select(Book).where(Book.isbn13 == isbn_for(700000 + n)))
        wish = WishlistItem(club_id=club.id, book_id=book.id)
        offerer = make_user(email=f"offerer{n}@example.com", name="Offerer")
        offer = BookOffer(club_id=club.id, user_id=offerer.id, title="Offered", author="X", condition="good")
        db.session.add_all([wish, offer])
        db.session.commit()
        return {"club": club, "emails": emails, "target": target, "wish": wish.id, "offer": offer.id}


@pytest.mark.parametrize("private", [False, True], ids=["public", "private"])
def test_every_club_route_with_every_standing(app, private):
    mismatches = []
    for method, template, needs in ROUTES:
        for standing in STANDINGS:
            world = build_world(app, private)  # a fresh club: earlier actions cannot leak into this one
            client = app.test_client()
            if standing != "anonymous":
                assert login_as(client, email=world["emails"][standing], password=PASSWORD).status_code == 303
            path = template.format(
                slug=world["club"].slug, target=world["target"], wish=world["wish"], offer=world["offer"]
            )
            response = client.open(path, method=method, data={"role": "moderator", "amount": "5"})
            got, want = outcome(response), expected(needs, standing, private)
            if got not in want:
                mismatches.append(
                    f"{standing:<9} {method:<4} {path}: got {got} ({response.status_code}), want {sorted(want)}"
                )
    assert mismatches == []
