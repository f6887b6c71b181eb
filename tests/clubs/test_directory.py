"""Finding a club: search, filters, distance, pages."""

import re

import pytest

from app.clubs.services import close_club
from app.extensions import db
from app.models import Club
from tests.clubs import HTMX, add_member, start_club


def names(response) -> list[str]:
    return re.findall(r'class="club-name"><strong>([^<]+)</strong>', response.get_data(as_text=True))


@pytest.fixture
def clubs(app):
    with app.app_context():
        paris = start_club(
            name="Paris Readers",
            city="Paris",
            country="France",
            latitude=48.8566,
            longitude=2.3522,
            description="Classics by the Seine.",
        )
        add_member(paris.id, "ana@example.com", "Ana")
        start_club(name="Lyon Lit", city="Lyon", country="France", latitude=45.764, longitude=4.8357)
        start_club(
            name="Berlin Bücherwurm",
            city="Berlin",
            region="Berlin",
            country="Germany",
            latitude=52.52,
            longitude=13.405,
        )
        start_club(
            name="Secret Circle",
            city="Paris",
            country="France",
            latitude=48.86,
            longitude=2.34,
            visibility="private",
            description="Our hidden reading notes.",
        )
        start_club(name="Alfama Book Club", city="Lisbon", country="Portugal")
    return None


def test_directory_lists_open_clubs_by_name_with_member_counts(client, clubs):
    response = client.get("/clubs")
    assert response.status_code == 200
    assert names(response) == ["Alfama Book Club", "Berlin Bücherwurm", "Lyon Lit", "Paris Readers", "Secret Circle"]
    page = response.get_data(as_text=True)
    assert "5 clubs" in page
    assert "2 members" in page  # Paris: the owner and Ana
    assert "Classics by the Seine." in page
    assert "Start a club" in page and 'href="/clubs/new"' in page
    assert 'href="/clubs"' in page  # the Clubs link in the header


def test_private_clubs_show_only_name_place_and_a_badge(client, clubs):
    page = client.get("/clubs").get_data(as_text=True)
    card = re.search(r'<li class="club-card">\s*<a href="/clubs/secret-circle".*?</li>', page, re.S).group(0)
    assert "Secret Circle" in card and "Paris, France" in card and "Private" in card
    assert "member" not in card
    assert "hidden reading notes" not in page


def test_search_matches_name_and_place(client, clubs):
    assert names(client.get("/clubs?q=lyon")) == ["Lyon Lit"]
    assert names(client.get("/clubs?q=germany")) == ["Berlin Bücherwurm"]
    assert names(client.get("/clubs?q=READERS")) == ["Paris Readers"]
    nothing = client.get("/clubs?q=atlantis")
    assert names(nothing) == [] and "No clubs match" in nothing.get_data(as_text=True)


def test_city_and_country_filters_come_from_the_clubs(client, clubs):
    page = client.get("/clubs").get_data(as_text=True)
    assert '<option value="Lisbon">Lisbon</option>' in page
    assert '<option value="Germany">Germany</option>' in page
    assert names(client.get("/clubs?city=Paris")) == ["Paris Readers", "Secret Circle"]
    assert names(client.get("/clubs?country=France")) == ["Lyon Lit", "Paris Readers", "Secret Circle"]
    assert names(client.get("/clubs?country=France&q=lit")) == ["Lyon Lit"]


def test_near_a_city_sorts_by_distance_and_shows_kilometres(client, clubs):
    response = client.get("/clubs?near=Paris")
    assert response.status_code == 200
    found = names(response)
    assert found[:2] == ["Paris Readers", "Secret Circle"] or found[:2] == ["Secret Circle", "Paris Readers"]
    assert found[2:] == ["Lyon Lit", "Berlin Bücherwurm", "Alfama Book Club"]  # no coordinates: last
    page = response.get_data(as_text=True)
    assert "nearest first" in page
    assert re.search(r"39\d km away", page)  # Paris to Lyon is about 392 km
    assert re.search(r"8[78]\d km away", page)  # Paris to Berlin is about 878 km


def test_near_coordinates_puts_the_closest_club_first(client, clubs):
    found = names(client.get("/clubs?near=52.5,13.4"))
    assert found[0] == "Berlin Bücherwurm"
    assert names(client.get("/clubs?near=45.7, 4.8"))[0] == "Lyon Lit"


def test_an_unknown_place_is_explained(client, clubs):
    response = client.get("/clubs?near=Atlantis")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "We do not know where “Atlantis” is" in page
    assert len(names(response)) == 5  # still listed, by name
    assert client.get("/clubs?near=95,10").status_code == 422


def test_htmx_search_returns_only_the_results(client, clubs):
    response = client.get("/clubs?q=berlin", headers=HTMX)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "<html" not in page and 'id="clubs-form"' not in page
    assert names(response) == ["Berlin Bücherwurm"]
    assert "HX-Request" in response.headers.get("Vary", "")


def test_search_form_is_wired_for_search_as_you_type(client, clubs):
    page = client.get("/clubs").get_data(as_text=True)
    form = re.search(r'<form id="clubs-form".*?>', page, re.S).group(0)
    assert 'hx-get="/clubs"' in form and 'hx-target="#results"' in form and 'hx-push-url="true"' in form
    assert "input changed delay:300ms" in form


def test_closed_clubs_leave_the_directory(app, client, clubs):
    with app.app_context():
        club = db.session.query(Club).filter_by(slug="lyon-lit").one()
        close_club(club)
    assert "Lyon Lit" not in names(client.get("/clubs"))
    assert '<option value="Lyon">' not in client.get("/clubs").get_data(as_text=True)


def test_directory_pages_through_many_clubs(app, client):
    with app.app_context():
        for i in range(30):
            start_club(name=f"Club {i:02d}", city="Porto", country="Portugal")
    first = client.get("/clubs")
    assert len(names(first)) == 24 and "page 1 of 2" in first.get_data(as_text=True)
    assert 'rel="next"' in first.get_data(as_text=True)
    second = client.get("/clubs?page=2")
    assert names(second) == [f"Club {i:02d}" for i in range(24, 30)]
    assert names(client.get("/clubs?page=99")) == names(second)
    assert client.get("/clubs?page=abc").status_code == 422


@pytest.mark.parametrize("query", ["", "?q=club", "?near=Porto", "?country=Portugal"])
def test_directory_runs_the_same_number_of_queries_for_3_or_30_clubs(app, client, count_queries, query):
    counts = []
    made = 0
    for size in (3, 30):
        with app.app_context():
            for i in range(made, size):
                club = start_club(
                    name=f"Club {i:02d}", city="Porto", country="Portugal", latitude=41.15 + i / 100, longitude=-8.61
                )
                add_member(club.id, f"member{i}@example.com", f"Member {i}")
        made = size
        with count_queries() as q:
            response = client.get(f"/clubs{query}")
        assert response.status_code == 200
        counts.append(q.count)
    assert counts[0] == counts[1] <= 6, counts


def test_search_treats_percent_and_underscore_as_plain_characters(app, client):
    from tests.clubs import start_club

    with app.app_context():
        start_club(name="Paris Readers")
        start_club(name="100% Poetry")
    assert b"Paris Readers" not in client.get("/clubs?q=_").data
    page = client.get("/clubs?q=100%25").get_data(as_text=True)
    assert "100% Poetry" in page and "Paris Readers" not in page
