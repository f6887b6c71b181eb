"""An anonymous donor is never named to the club: not on its pages, its ledger or its emails."""

import csv
import io

import pytest

from tests.donations import CLUB_NAME, OWNER, donate_and_pay, html_of, open_club, owner_client, reader, text_of

SECRET = "Sabine Secretive"
OPEN = "Oscar Open"


@pytest.fixture
def slug(app, inbox):
    slug = open_club(app)
    donate_and_pay(reader(app, "secret@example.com", SECRET), slug, "30", message="Quietly", anonymous=True)
    donate_and_pay(reader(app, "open@example.com", OPEN), slug, "20", message="Loudly")
    return slug


def test_the_owners_notice_says_an_anonymous_reader(slug, inbox):
    notices = inbox.wait_for(OWNER, 2)
    anonymous = next(m for m in notices if "$30.00" in text_of(m))
    named = next(m for m in notices if "$20.00" in text_of(m))
    for body in (text_of(anonymous), html_of(anonymous), anonymous["Subject"]):
        assert SECRET not in body
    assert "An anonymous reader gave $30.00" in text_of(anonymous) and "Quietly" in text_of(anonymous)
    assert f"{OPEN} gave $20.00" in text_of(named)


def test_the_donors_own_receipt_says_it_was_anonymous(slug, inbox):
    [receipt] = inbox.wait_for("secret@example.com")
    assert "You gave anonymously: the club does not see your name." in text_of(receipt)


@pytest.mark.parametrize("path", ["/clubs/{slug}", "/clubs/{slug}/donations"])
@pytest.mark.parametrize("viewer", ["visitor", "owner"])
def test_club_pages_never_name_the_anonymous_donor(app, client, slug, path, viewer):
    browser = client if viewer == "visitor" else owner_client(app)
    response = browser.get(path.format(slug=slug))
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert SECRET not in page
    assert "Anonymous" in page and OPEN in page


def test_the_club_donations_page_lists_amounts_and_the_total(client, slug):
    page = client.get(f"/clubs/{slug}/donations").get_data(as_text=True)
    assert f"Donations to {CLUB_NAME}" in page
    assert "$30.00" in page and "$20.00" in page and "Received: <strong>$50.00</strong>" in page


def test_the_fund_page_and_its_csv_never_name_the_anonymous_donor(app, slug):
    owner = owner_client(app)
    page = owner.get(f"/clubs/{slug}/fund").get_data(as_text=True)
    assert SECRET not in page
    assert "Anonymous" in page and OPEN in page and "Balance: <strong>$50.00</strong>" in page

    response = owner.get(f"/clubs/{slug}/fund.csv")
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == f'attachment; filename="{slug}-fund.csv"'
    body = response.get_data(as_text=True)
    assert SECRET not in body
    rows = list(csv.DictReader(io.StringIO(body)))
    assert [row["donor"] for row in rows] == ["Anonymous", OPEN]
    assert [row["amount"] for row in rows] == ["30.00", "20.00"]
    assert rows[-1]["balance_after"] == "50.00"
    assert sum(float(row["amount"]) for row in rows) == float(rows[-1]["balance_after"])


def test_the_anonymous_donor_still_sees_their_own_donation(app, slug):
    from tests.helpers import login_as

    donor = app.test_client()
    login_as(donor, email="secret@example.com")
    page = donor.get("/account/donations").get_data(as_text=True)
    assert CLUB_NAME in page and "$30.00" in page and 'class="anonymous-marker">Anonymous' in page


def test_only_the_owner_sees_the_fund(app, slug, client):
    member = reader(app, "member@example.com", "Mia Member")
    from tests.donations import join

    join(app, slug, "member@example.com")
    assert member.get(f"/clubs/{slug}/fund").status_code == 403
    assert member.get(f"/clubs/{slug}/fund.csv").status_code == 403
    assert client.get(f"/clubs/{slug}/fund").status_code == 302  # to the log-in page
