"""The demo data: the demo reader has a default address, every demo club a delivery address."""

from sqlalchemy import func, select

from app.accounts.services import find_user_by_email
from app.addresses.services import default_address
from app.extensions import db
from app.models import Address
from app.seed import DEMO_PASSWORD
from app.seed.accounts import seed_accounts
from app.seed.addresses import CLUB_ADDRESSES, seed_addresses
from app.seed.clubs import seed_clubs
from tests.helpers import login_as


def test_seed_gives_demo_readers_and_clubs_their_addresses_once(app, client):
    with app.app_context():
        seed_accounts()
        seed_clubs(DEMO_PASSWORD)
        assert seed_addresses() == "Demo addresses: 3 reader address(es) and 5 club delivery address(es) added."
        assert seed_addresses() == "Demo addresses: 0 reader address(es) and 0 club delivery address(es) added."
        clubs_with_one = select(func.count(Address.id)).where(Address.club_id.is_not(None))
        assert db.session.scalar(clubs_with_one) == len(CLUB_ADDRESSES)
        assert default_address(find_user_by_email("reader@example.com")).postal_code == "10118"
    login_as(client, "reader@example.com", password=DEMO_PASSWORD)
    page = client.get("/account/addresses").get_data(as_text=True)
    assert "NEW YORK, NY 10118" in page and "Default address" in page
