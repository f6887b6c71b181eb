"""The demo data: the demo reader has a default address, every demo club a delivery address."""

from sqlalchemy import func, select

from app.addresses.services import default_address
from app.extensions import db
from app.models import Address, Club
from app.seed.addresses import CLUB_ADDRESSES
from tests.helpers import login_as


def test_seed_gives_demo_readers_and_clubs_their_addresses_once(app, client):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed", "demo"])
    assert first.exit_code == 0, first.output
    assert "Demo addresses: 3 reader address(es) and 5 club delivery address(es) added." in first.output
    second = runner.invoke(args=["seed", "demo"])
    assert "Demo addresses: 0 reader address(es) and 0 club delivery address(es) added." in second.output
    with app.app_context():
        assert db.session.scalar(select(func.count(Address.id)).where(Address.club_id.is_not(None))) == len(
            CLUB_ADDRESSES
        )
        clubs = db.session.scalar(select(func.count(Club.id)))
        assert clubs >= len(CLUB_ADDRESSES)
    login_as(client, "reader@example.com", password="demo-password-1")
    page = client.get("/account/addresses").get_data(as_text=True)
    assert "NEW YORK, NY 10118" in page and "Default address" in page
    with app.app_context():
        from app.accounts.services import find_user_by_email

        assert default_address(find_user_by_email("reader@example.com")).postal_code == "10118"
