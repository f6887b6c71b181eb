"""The club page's shared part is cached, and every change to what it shows appears at once.

Each test loads the page first (so the shared part is cached), changes the club the way the
product does, and checks the very next page view.
"""

from __future__ import annotations

import re

from app.extensions import db
from app.models import WishlistItem
from app.models.base import utcnow
from tests.clubs import add_member, start_club
from tests.clubs.test_membership import give, put_on_shelf, wish_for
from tests.helpers import login_as


def club_page(client, slug: str) -> str:
    response = client.get(f"/clubs/{slug}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def goal(html: str) -> tuple[str, str]:
    progress = re.search(r'<progress id="goal-progress" value="(\d+)"', html).group(1)
    label = re.search(r'<p id="goal-label" class="goal-label">([^<]+)</p>', html).group(1)
    return progress, label


def test_a_donation_shows_at_once_in_the_total_the_goal_and_the_recent_gifts(app, client):
    with app.app_context():
        club = start_club(donation_goal_cents=10000)
        give(club.id, "first@example.com", "First Giver", 1500)
    login_as(client, "owner@example.com")
    before = club_page(client, club.slug)
    assert goal(before) == ("1500", "$15.00 of $100.00") and "Second Giver" not in before
    assert goal(club_page(client, club.slug)) == goal(before)  # served from the cache
    with app.app_context():
        give(club.id, "second@example.com", "Second Giver", 2500, message="For the shelf!")
    after = club_page(client, club.slug)
    assert goal(after) == ("4000", "$40.00 of $100.00")
    assert "Second Giver" in after and "For the shelf!" in after and "$25.00" in after


def test_members_shelf_and_wishlist_changes_show_at_once(app, client):
    with app.app_context():
        club = start_club()
    login_as(client, "owner@example.com")
    html = club_page(client, club.slug)
    assert "· 1 member<" in html and "No books on the shelf yet." in html and "The wishlist is empty." in html
    with app.app_context():
        add_member(club.id, "ana@example.com", "Ana")
        put_on_shelf(club.id, ["Shelved Novel"])
        wish_for(club.id, ["Wished Novel"])
    html = club_page(client, club.slug)
    assert "· 2 members<" in html and "Shelved Novel" in html and "Wished Novel" in html
    assert "badge-given" not in html
    with app.app_context():
        db.session.query(WishlistItem).update({"given_at": utcnow()})
        db.session.commit()
    assert "badge-given" in club_page(client, club.slug)


def test_a_new_description_shows_at_once(app, client):
    with app.app_context():
        club = start_club(description="We read on Mondays.")
    login_as(client, "owner@example.com")
    assert "We read on Mondays." in club_page(client, club.slug)
    form = {"name": "Paris Readers", "city": "Paris", "country": "France", "visibility": "public"}
    client.post(f"/clubs/{club.slug}/edit", data={**form, "description": "We read on Tuesdays."})
    html = club_page(client, club.slug)
    assert "We read on Tuesdays." in html and "We read on Mondays." not in html
