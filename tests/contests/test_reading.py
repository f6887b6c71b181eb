"""The reading log: adding books, the daily caps, confirming unusual entries, goals."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.contests.reading import ReadingError, log_book
from app.extensions import db
from app.models import ReadingLog, User
from tests.helpers import login_as, make_user

HTMX = {"HX-Request": "true", "HX-Request-Type": "partial"}


def today() -> date:
    """Today for the readers here, whose time zone is UTC."""
    return datetime.now(UTC).date()


@pytest.fixture
def reader(app, client):
    with app.app_context():
        make_user()
    login_as(client)
    return client


def add(client, title="Middlemarch", pages=300, finished_on=None, **extra):
    data = {"title": title, "author": "George Eliot", "pages": pages, "finished_on": str(finished_on or today())}
    return client.post("/account/reading", data={**data, **extra})


def logged(app) -> list[tuple[str, int]]:
    with app.app_context():
        return [(e.title, e.pages) for e in db.session.scalars(select(ReadingLog).order_by(ReadingLog.id))]


def test_the_reading_page_needs_an_account(client):
    response = client.get("/account/reading")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_a_reader_logs_a_book_and_sees_it_listed(app, reader):
    page = reader.get("/account/reading").get_data(as_text=True)
    assert f'value="{today().isoformat()}"' in page  # finished today, by default
    assert "Nothing logged yet." in page
    response = add(reader)
    assert response.status_code == 303 and response.headers["Location"].endswith("/account/reading")
    page = reader.get("/account/reading").get_data(as_text=True)
    assert "“Middlemarch” is in your reading log." in page
    assert "Middlemarch" in page and "by George Eliot" in page and "<td>300</td>" in page
    assert logged(app) == [("Middlemarch", 300)]


def test_form_errors_are_shown_in_place(app, reader):
    response = add(reader, title="", pages="many")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "This field is required." in html and "Not a valid integer value." in html
    future = add(reader, finished_on=today() + timedelta(days=2))
    assert future.status_code == 422
    assert "You cannot log a book you finish in the future." in future.get_data(as_text=True)
    assert logged(app) == []


def test_htmx_errors_swap_only_the_form(app, reader):
    response = reader.post(
        "/account/reading",
        data={"title": "", "pages": "10", "finished_on": str(today())},
        headers=HTMX,
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert html.lstrip().startswith('<form id="reading-form"') and "<html" not in html


def test_daily_caps_on_entries_and_pages(app, reader):
    for n in range(5):
        assert add(reader, title=f"Book {n}", pages=100).status_code == 303
    sixth = add(reader, title="Book 6", pages=100)
    assert sixth.status_code == 422
    assert "You already logged 5 books for that day, the most we accept." in sixth.get_data(as_text=True)
    yesterday = today() - timedelta(days=1)
    too_long = add(reader, title="Tome", pages=3001, finished_on=yesterday)
    assert too_long.status_code == 422 and "Pages must be between 1 and 3000." in too_long.get_data(as_text=True)
    assert len(logged(app)) == 5


def test_an_unusual_entry_needs_a_tick_to_confirm(app, reader):
    response = add(reader, title="In Search of Lost Time", pages=1500)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "1500 pages in one day is a lot." in html
    assert 'type="checkbox"' in html and 'name="confirm"' in html and "Yes, I really read this" in html
    assert logged(app) == []
    confirmed = add(reader, title="In Search of Lost Time", pages=1500, confirm="y")
    assert confirmed.status_code == 303
    assert logged(app) == [("In Search of Lost Time", 1500)]
    # The daily page cap still holds, even with the box ticked.
    over = add(reader, title="Ulysses", pages=1600, confirm="y")
    assert over.status_code == 422 and "the limit is 3000" in over.get_data(as_text=True)


def test_a_plain_entry_shows_no_confirmation_box(reader):
    assert 'name="confirm"' not in reader.get("/account/reading").get_data(as_text=True)


def test_readers_delete_their_own_entries_only(app, reader):
    add(reader)
    with app.app_context():
        other = make_user(email="other@example.com", name="Otto")
        theirs = log_book(other, title="Not yours", author="", pages=10, finished_on=today()).id
        mine = db.session.scalar(select(ReadingLog.id).where(ReadingLog.title == "Middlemarch"))
    assert reader.post(f"/account/reading/{theirs}/delete").status_code == 404
    assert reader.post(f"/account/reading/{mine}/delete").status_code == 303
    assert logged(app) == [("Not yours", 10)]


def test_the_yearly_goal_and_its_progress_bar(app, reader):
    year = today().year
    page = reader.get("/account/reading").get_data(as_text=True)
    assert f"0 books in {year}. Set a goal" in page
    add(reader)
    add(reader, title="Persuasion", pages=250)
    bad = reader.post("/account/reading/goal", data={"books": "0"})
    assert bad.status_code == 422 and "Number must be between 1 and 1000." in bad.get_data(as_text=True)
    assert reader.post("/account/reading/goal", data={"books": "12"}).status_code == 303
    page = reader.get("/account/reading").get_data(as_text=True)
    assert f"Your goal for {year}: 12 books." in page
    assert f"2 of 12 books in {year}" in page
    assert '<progress id="year-progress" value="2" max="12">17%</progress>' in page
    assert "550 pages so far." in page
    account = reader.get("/account").get_data(as_text=True)
    assert "<h2>Reading</h2>" in account and f"2 of 12 books in {year}" in account
    assert 'href="/account/reading"' in account


def test_account_page_still_runs_a_fixed_number_of_queries(app, reader, count_queries):
    add(reader)
    with count_queries() as few:
        reader.get("/account")
    for n in range(4):
        add(reader, title=f"More {n}", pages=10)
    with count_queries() as many:
        reader.get("/account")
    assert few.count == many.count, many.statements


def test_finished_today_means_today_where_the_reader_lives(app):
    """At noon UTC it is already tomorrow on Kiritimati (UTC+14): that date is today, not the future."""
    noon = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    with app.app_context():
        islander = make_user(email="kiri@example.com", time_zone="Pacific/Kiritimati")
        entry = log_book(islander, title="Local", author="", pages=100, finished_on=date(2026, 11, 26), now=noon)
        assert entry.finished_at == noon
        with pytest.raises(ReadingError, match="in the future"):
            log_book(islander, title="Too soon", author="", pages=100, finished_on=date(2026, 11, 27), now=noon)
        utc_reader = db.session.get(User, make_user(email="utc@example.com").id)
        with pytest.raises(ReadingError, match="in the future"):
            log_book(utc_reader, title="Too soon", author="", pages=100, finished_on=date(2026, 11, 26), now=noon)
        assert db.session.scalar(select(func.count(ReadingLog.id))) == 1
