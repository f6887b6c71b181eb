"""The owner's fund CSV opens safely in a spreadsheet: text never runs as a formula, amounts stay numbers."""

import csv
import io

from app.donations.fund import add_entry, lock_fund
from app.extensions import db
from app.models import FundEntry
from tests.donations import club_id, donate_and_pay, open_club, owner_client, reader

EVIL_NAME = '=HYPERLINK("http://evil.example","x")'


def test_a_formula_in_a_donors_name_is_neutralised_in_the_downloaded_csv(app, inbox):
    slug = open_club(app)
    donate_and_pay(reader(app, "evil@example.com", EVIL_NAME), slug, "20")
    with app.app_context():
        lock_fund(club_id(app, slug))
        add_entry(club_id(app, slug), FundEntry.PURCHASE, -550, "@SUM(1+1) books for the shelf")
        db.session.commit()

    body = owner_client(app).get(f"/clubs/{slug}/fund.csv").get_data(as_text=True)

    rows = list(csv.DictReader(io.StringIO(body)))
    assert [row["donor"] for row in rows] == ["'" + EVIL_NAME, ""]
    assert rows[1]["description"] == "'@SUM(1+1) books for the shelf"
    # Amounts are numbers a spreadsheet can add up: the debit keeps its minus sign, unquoted.
    assert [row["amount"] for row in rows] == ["20.00", "-5.50"]
    assert [row["balance_after"] for row in rows] == ["20.00", "14.50"]
    assert "\n" + EVIL_NAME not in body and "," + EVIL_NAME not in body and ',"' + EVIL_NAME not in body
