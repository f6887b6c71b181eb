"""Two clubs can be told apart: a name is unique in its city (whatever the case), and where two
clubs share a name their cities show."""

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import Club, ContestKind, Metric, User
from app.models.base import utcnow
from tests.clubs import start_club
from tests.helpers import login_as, make_user

FORM = {"name": "paris READERS ", "city": " PARIS", "country": "France", "visibility": "public"}


def test_a_second_club_with_the_same_name_in_the_same_city_is_refused_in_the_form(app, client):
    with app.app_context():
        start_club(name="Paris Readers", city="Paris")
        make_user(email="reader@example.com", name="Rosa Reader")
    login_as(client, "reader@example.com")
    response = client.post("/clubs/new", data=FORM)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "There is already a club called “Paris Readers” in Paris." in page
    assert 'aria-invalid="true"' in page  # on the name field
    with app.app_context():
        assert db.session.scalar(select(db.func.count(Club.id))) == 1

    elsewhere = client.post("/clubs/new", data={**FORM, "city": "Lyon"})
    assert elsewhere.status_code == 303


def test_the_database_keeps_names_unique_per_city_whatever_the_case(app):
    with app.app_context():
        start_club(name="Paris Readers", city="Paris")
        db.session.add(Club(name="PARIS readers", slug="other", city="paris", country="France"))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()


def test_an_edit_may_not_take_a_name_used_in_the_city(app, client):
    with app.app_context():
        start_club(name="Paris Readers", city="Paris")
        other = start_club(owner_email="otto@example.com", owner_name="Otto", name="Night Owls", city="Paris")
    login_as(client, "otto@example.com")
    response = client.post(f"/clubs/{other.slug}/edit", data={**FORM, "name": "Paris Readers"})
    assert response.status_code == 422
    assert "There is already a club called “Paris Readers” in Paris." in response.get_data(as_text=True)
    keep = client.post(f"/clubs/{other.slug}/edit", data={**FORM, "name": "Night Owls", "city": "Paris"})
    assert keep.status_code == 303  # its own name is no clash


def test_contest_standings_show_the_city_of_clubs_that_share_a_name(app, client):
    from app.contests.services import create_contest, enter_contest, open_contest

    with app.app_context():
        paris = start_club(name="Readers", city="Paris")
        lyon = start_club(owner_email="lou@example.com", owner_name="Lou", name="Readers", city="Lyon")
        nantes = start_club(owner_email="nia@example.com", owner_name="Nia", name="Night Owls", city="Nantes")
        contest = create_contest(
            title="Who reads most",
            kind=ContestKind.CLUBS,
            metric=Metric.BOOKS_READ,
            starts_at=utcnow() - timedelta(days=1),
            ends_at=utcnow() + timedelta(days=5),
            provisional_hours=0,
        )
        open_contest(contest)
        for club, owner in ((paris, "owner@example.com"), (lyon, "lou@example.com"), (nantes, "nia@example.com")):
            user = db.session.scalar(select(User).where(User.email == owner))
            enter_contest(contest, user, db.session.get(Club, club.id))
        contest_id = contest.id
    html = client.get(f"/contests/{contest_id}/leaderboard", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Readers (Paris)" in html and "Readers (Lyon)" in html
    assert "Night Owls (Nantes)" not in html and "Night Owls" in html
