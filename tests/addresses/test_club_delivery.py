"""A club's delivery address: the owner and moderators keep it; members and the public never see it."""

from app.addresses.services import club_delivery_address
from app.extensions import db
from app.models import Club, Role
from tests.addresses import PARIS
from tests.clubs import add_member, start_club
from tests.helpers import login_as, make_user

SECRET = "12 rue de Rivoli"


def a_club(app, visibility="public"):
    with app.app_context():
        club = start_club(visibility=visibility)
        add_member(club.id, "mod@example.com", "Mo Moderator", role=Role.MODERATOR)
        add_member(club.id, "member@example.com", "Mem Member")
        make_user(email="outsider@example.com", name="Out Sider")
        return club


def test_owner_sets_it_from_the_club_tools_and_it_stays_private(app, client):
    club = a_club(app)
    login_as(client, "owner@example.com")
    path = f"/clubs/{club.slug}/delivery-address"
    assert path in client.get(f"/clubs/{club.slug}").get_data(as_text=True)
    bad = client.post(path, data={**PARIS, "postal_code": "7"})
    assert bad.status_code == 422 and "Enter a postal code like 33380." in bad.get_data(as_text=True)
    assert client.post(path, data=PARIS).status_code == 303
    assert "75008 PARIS" in client.get(path).get_data(as_text=True)
    with app.app_context():
        assert club_delivery_address(db.session.get(Club, club.id)).line1 == SECRET

    client.post("/auth/logout")
    login_as(client, "mod@example.com")
    assert client.post(path, data={**PARIS, "line1": "3 quai Voltaire"}).status_code == 303
    assert "3 quai Voltaire" in client.get(path).get_data(as_text=True)

    for email in ("member@example.com", "outsider@example.com"):
        client.post("/auth/logout")
        login_as(client, email)
        assert client.get(path).status_code == 403
        assert client.post(path, data=PARIS).status_code == 403
        page = client.get(f"/clubs/{club.slug}").get_data(as_text=True)
        assert "quai Voltaire" not in page and path not in page
    client.post("/auth/logout")
    assert "/auth/login" in client.get(path).headers["Location"]
    assert "quai Voltaire" not in client.get(f"/clubs/{club.slug}").get_data(as_text=True)


def test_a_private_club_hides_it_from_outsiders(app, client):
    club = a_club(app, visibility="private")
    login_as(client, "outsider@example.com")
    assert client.get(f"/clubs/{club.slug}/delivery-address").status_code == 404


def test_a_first_delivery_address_starts_from_the_clubs_name_city_and_country(app, client):
    club = a_club(app)  # Paris Readers, in Paris, France
    login_as(client, "owner@example.com")
    page = client.get(f"/clubs/{club.slug}/delivery-address").get_data(as_text=True)
    assert 'value="Paris Readers"' in page and '<option value="FR" selected>France</option>' in page
    assert 'name="country_area"' not in page  # France has no region on its addresses
