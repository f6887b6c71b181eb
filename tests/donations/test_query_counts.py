"""Donation lists load in a fixed number of queries, however many donations there are."""

from sqlalchemy import select

from app.extensions import db
from app.models import Donation, DonationStatus, User
from app.models.base import utcnow
from tests.donations import club_named, open_club, reader
from tests.helpers import make_user


def given(app, slug: str, donor_email: str, count: int) -> None:
    """``count`` paid donations to the club: the donor's and other readers', some anonymous."""
    with app.app_context():
        club_id = club_named(slug).id
        donor_id = db.session.scalar(select(User.id).where(User.email == donor_email))
        fans = [make_user(email=f"fan{i}.{donor_email}", name=f"Fan {i}").id for i in range(2)]
        for i in range(count):
            db.session.add(
                Donation(
                    club_id=club_id,
                    user_id=[donor_id, *fans][i % 3],
                    amount_cents=500 + i,
                    anonymous=i % 4 == 0,
                    status=DonationStatus.PAID,
                    gateway="simulated",
                    paid_at=utcnow(),
                )
            )
        db.session.commit()


def queries_for(count_queries, client, path: str, rows: int) -> int:
    client.get(path)  # every count with the reader's snapshot cached (app/accounts/user_cache.py)
    with count_queries() as q:
        response = client.get(path)
    assert response.status_code == 200
    assert response.get_data(as_text=True).count("$5.") >= rows  # the rows are really on the page
    return q.count


def test_a_clubs_donations_page_runs_the_same_queries_for_2_or_20_donations(app, count_queries):
    few = open_club(app, owner_email="few@example.com", name="Few Givers")
    many = open_club(app, owner_email="many@example.com", name="Many Givers")
    visitor = reader(app, "visitor@example.com", "Vic Visitor")
    given(app, few, "few@example.com", 2)
    given(app, many, "many@example.com", 20)
    counts = [queries_for(count_queries, visitor, f"/clubs/{slug}/donations", n) for slug, n in ((few, 2), (many, 20))]
    assert counts[0] == counts[1] <= 6, counts


def test_a_readers_donations_page_runs_the_same_queries_for_2_or_20_donations(app, count_queries):
    slug = open_club(app)
    light = reader(app, "light@example.com", "Lou Light")
    heavy = reader(app, "heavy@example.com", "Hal Heavy")
    given(app, slug, "light@example.com", 6)  # a third of them are the donor's: 2
    given(app, slug, "heavy@example.com", 60)  # 20
    counts = [queries_for(count_queries, client, "/account/donations", n) for client, n in ((light, 2), (heavy, 20))]
    assert counts[0] == counts[1] <= 4, counts
