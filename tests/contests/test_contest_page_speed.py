"""The contest page for a signed-in entrant: a fixed, small number of queries, and fresh standings."""

from __future__ import annotations

from app.contests.services import enter_contest
from app.extensions import db
from app.models import Contest
from tests.contests.test_pages import finish, page, readers_contest_with, user
from tests.helpers import login_as

ROSA_ROW = '<th scope="row">Rosa</th>'


def test_the_contest_page_signed_in_runs_at_most_5_queries_for_2_or_20_entrants(app, client, count_queries):
    with app.app_context():
        rosa = user("rosa@example.com")
        small = readers_contest_with(2, {0: 1}, prefix="small")
        large = readers_contest_with(20, {i: i % 3 for i in range(20)}, prefix="large")
        for contest_id in (small, large):
            enter_contest(db.session.get(Contest, contest_id), rosa)
    login_as(client, "rosa@example.com")
    counts = []
    for contest_id in (small, large):
        client.get("/cart")  # the reader's snapshot is cached once after log in
        with count_queries() as q:
            html = page(client, f"/contests/{contest_id}")
        assert "You are in this contest." in html
        counts.append(q.count)
    assert counts[0] == counts[1] <= 5, counts


def test_standings_change_on_the_page_at_once(app, client):
    with app.app_context():
        user("rosa@example.com")
        contest_id = readers_contest_with(2, {0: 2, 1: 1})
    login_as(client, "rosa@example.com")
    html = page(client, f"/contests/{contest_id}")
    assert "Leaderboard" in html and "Final standings" not in html and ROSA_ROW not in html
    client.post(f"/contests/{contest_id}/enter")
    assert ROSA_ROW in page(client, f"/contests/{contest_id}")  # a new entrant shows at once
    finish(app, contest_id)
    html = page(client, f"/contests/{contest_id}")
    assert "Final standings" in html and "Winner: <strong>Reader 00</strong>" in html
