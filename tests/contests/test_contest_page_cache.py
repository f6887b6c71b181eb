"""The contest page cached whole (with Redis): per reader, for the live standings' window at
most, and replaced at once when the contest or the reader changes."""

import time

import pytest
from sqlalchemy import select

from app import create_app
from app.contests.reading import log_book
from app.extensions import db
from app.models import User
from tests.conftest import make_config
from tests.contests.test_pages import page, readers_contest_with, today, user
from tests.helpers import login_as

ROSA_ROW = '<th scope="row">Rosa</th>'


@pytest.fixture
def contest(redis_app):
    with redis_app.app_context():
        user("rosa@example.com")
        user("milo@example.com")
        return readers_contest_with(2, {0: 2, 1: 1})


def settled(client, path):
    for _ in range(3):
        html = page(client, path)
    return html


def test_a_readers_contest_page_is_answered_before_flask(redis_app, contest, count_queries):
    seen = []
    redis_app.before_request_funcs.setdefault(None, []).append(lambda: seen.append(1) and None)
    rosa = redis_app.test_client()
    login_as(rosa, "rosa@example.com")
    path = f"/contests/{contest}"
    html = settled(rosa, path)
    before = len(seen)
    with count_queries() as q:
        again = page(rosa, path)
    assert len(seen) == before and q.count == 0
    assert again == html and "Leaderboard" in html


def test_entering_shows_at_once_and_only_to_the_reader_who_entered(redis_app, contest):
    rosa, milo = redis_app.test_client(), redis_app.test_client()
    login_as(rosa, "rosa@example.com")
    login_as(milo, "milo@example.com")
    path = f"/contests/{contest}"
    assert ROSA_ROW not in settled(rosa, path)
    settled(milo, path)
    rosa.post(f"{path}/enter")
    rosa_page, milo_page = page(rosa, path), page(milo, path)
    assert ROSA_ROW in rosa_page and "You are in this contest." in rosa_page
    assert ROSA_ROW in milo_page and "You are in this contest." not in milo_page


def test_live_standings_refresh_within_the_leaderboard_window(redis_app, contest):
    """Reader 1 overtakes reader 0: the cached page shows it once the standings' window is over."""
    quick = create_app(make_config(**{**redis_app.config, "LEADERBOARD_CACHE_SECONDS": 1, "TESTING": True}))
    client = quick.test_client()
    login_as(client, "rosa@example.com")
    path = f"/contests/{contest}"
    html = settled(client, path)
    assert "▲" not in html
    with quick.app_context():
        overtaker = db.session.scalar(select(User).where(User.email == "reader1@example.com"))
        for k in range(3):
            log_book(overtaker, title=f"More {k}", author="", pages=50, finished_on=today())
    time.sleep(2.1)  # the standings' window (1 s) is over, and the page's with it
    html = page(client, path)
    assert "▲1" in html and "▼1" in html
