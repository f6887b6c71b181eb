"""Contests in the shell: the list, a contest's rules and window, the leaderboard, entering."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from app.clubs.services import create_club
from app.contests.reading import log_book
from app.contests.scoring import TIE_BREAK_RULE
from app.contests.services import cancel_contest, create_contest, enter_contest, open_contest
from app.extensions import cache, db
from app.models import Contest, ContestKind, Metric, Scoring, User
from tests.api import API, api_login, assert_shape, bearer, problem_of
from tests.helpers import make_user

NOW = datetime.now(UTC).replace(microsecond=0)
START = NOW - timedelta(days=1)
END = NOW + timedelta(days=6)


@pytest.fixture(autouse=True)
def fresh_leaderboards(app):
    """Live standings are cached by contest id, and ids start again in every test."""
    with app.app_context():
        cache.clear()


def new_contest(kind=ContestKind.READERS, opened=True, **kw) -> int:
    kw.setdefault("starts_at", START)
    kw.setdefault("ends_at", END)
    kw.setdefault("provisional_hours", 0)
    contest = create_contest(title=kw.pop("title", "November books"), kind=kind, metric=Metric.BOOKS_READ, **kw)
    if opened:
        open_contest(contest)
    return contest.id


def reader(email: str, **fields) -> User:
    return make_user(email=email, name=email.split("@")[0].title(), **fields)


def items(response) -> list[tuple[str, str]]:
    return [(c["title"], c["phase"]) for c in response.get_json()["items"]]


def test_the_list_shows_running_upcoming_and_finished_contests_and_drafts_to_admins(client, app):
    with app.app_context():
        reader("admin@example.com", is_admin=True)
        new_contest(title="Running now")
        new_contest(title="Next week", starts_at=NOW + timedelta(days=7), ends_at=NOW + timedelta(days=14))
        new_contest(title="Secret draft", opened=False)
        cancel_contest(db.session.get(Contest, new_contest(title="Called off")))
        over = new_contest(title="Summer sprint")
        # Its end passes: reading the list scores it, as the site's list does without a scheduler.
        db.session.execute(
            update(Contest)
            .where(Contest.id == over)
            .values(starts_at=NOW - timedelta(days=9), ends_at=NOW - timedelta(minutes=1))
        )
        db.session.commit()
    response = client.get(f"{API}/contests")
    assert response.status_code == 200
    assert_shape(response.get_json(), "ContestPage")
    assert items(response) == [("Running now", "running"), ("Next week", "upcoming"), ("Summer sprint", "results")]
    assert response.get_json()["items"][2]["status"] == "finished"
    assert items(client.get(f"{API}/contests?status=finished")) == [("Summer sprint", "results")]
    admin = bearer(api_login(client, "admin@example.com"))
    assert ("Secret draft", "upcoming") in items(client.get(f"{API}/contests", headers=admin))
    assert items(client.get(f"{API}/contests?status=draft", headers=admin)) == [("Secret draft", "upcoming")]
    errors = problem_of(client.get(f"{API}/contests?status=cancelled&per_page=0"), 422)["errors"]
    assert set(errors) == {"status", "per_page"}
    second = client.get(f"{API}/contests?per_page=2&page=2")
    assert items(second) == [("Summer sprint", "results")] and 'rel="prev"' in second.headers["Link"]


def test_a_contest_states_its_formula_window_and_prize(client, app):
    with app.app_context():
        contest_id = new_contest(kind=ContestKind.CLUBS, scoring=Scoring.PER_MEMBER, member_floor=4, prize="Books")
    response = client.get(f"{API}/contests/{contest_id}")
    assert response.status_code == 200
    contest = response.get_json()
    assert_shape(contest, "Contest")
    assert contest["formula"].startswith("Score = books read by the club ÷ its active members (counted as at least 4")
    assert contest["tie_break"] == TIE_BREAK_RULE
    assert contest["starts_at"] == START.isoformat().replace("+00:00", "Z")
    assert contest["ends_at"] == END.isoformat().replace("+00:00", "Z")
    assert (contest["prize"], contest["entries_open"], contest["entrants"], contest["winner"]) == (
        "Books",
        True,
        0,
        None,
    )


def test_drafts_and_unknown_contests_are_not_found(client, app):
    with app.app_context():
        reader("rosa@example.com")
        reader("admin@example.com", is_admin=True)
        draft = new_contest(opened=False)
    problem_of(client.get(f"{API}/contests/{draft}"), 404)
    problem_of(client.get(f"{API}/contests/{draft}", headers=bearer(api_login(client, "rosa@example.com"))), 404)
    assert (
        client.get(f"{API}/contests/{draft}", headers=bearer(api_login(client, "admin@example.com"))).status_code == 200
    )
    problem_of(client.get(f"{API}/contests/999"), 404)
    problem_of(client.get(f"{API}/contests/999/leaderboard"), 404)
    problem_of(client.get(f"{API}/contests/0"), 404)


def test_the_leaderboard_ranks_entrants_and_turns_final_with_a_winner(client, app):
    with app.app_context():
        contest_id = new_contest()
        contest = db.session.get(Contest, contest_id)
        for email, books in (("ana@example.com", 1), ("bo@example.com", 2)):
            person = reader(email)
            enter_contest(contest, person)
            for n in range(books):
                log_book(person, title=f"Book {n}", author="A", pages=100, finished_on=NOW.date(), confirmed=True)
    live = client.get(f"{API}/contests/{contest_id}/leaderboard").get_json()
    assert_shape(live, "Leaderboard")
    assert live["final"] is False
    assert [(r["rank"], r["name"], r["score"], r["total"], r["change"]) for r in live["rows"]] == [
        (1, "Bo", 2, 2, 0),
        (2, "Ana", 1, 1, 0),
    ]
    assert live["rows"][0]["score_label"] == "2 books" and live["rows"][0]["participation"] == 1.0
    with app.app_context():
        # The end passes just after the books were logged: reading the contest scores it.
        ended = datetime.now(UTC)
        db.session.execute(update(Contest).where(Contest.id == contest_id).values(ends_at=ended))
        db.session.commit()
    final = client.get(f"{API}/contests/{contest_id}/leaderboard").get_json()
    assert (final["status"], final["final"]) == ("finished", True)
    contest = client.get(f"{API}/contests/{contest_id}").get_json()
    assert contest["winner"]["name"] == "Bo" and contest["entries_open"] is False and contest["entrants"] == 2


def test_a_reader_enters_a_reader_contest_once(client, app):
    with app.app_context():
        reader("rosa@example.com")
        contest_id = new_contest()
    url = f"{API}/contests/{contest_id}/entries"
    problem_of(client.post(url), 401)
    token = bearer(api_login(client, "rosa@example.com"))
    response = client.post(url, headers=token)
    assert response.status_code == 201
    assert_shape(response.get_json(), "ContestEntry")
    assert "Already entered." in problem_of(client.post(url, headers=token), 409)["detail"]
    rows = client.get(f"{API}/contests/{contest_id}/leaderboard").get_json()["rows"]
    assert [row["name"] for row in rows] == ["Rosa"]  # at once, not when the cache expires


def test_only_a_clubs_owner_enters_it_in_a_club_contest(client, app):
    with app.app_context():
        owner, other = reader("owner@example.com"), reader("other@example.com")
        create_club(owner, name="Lyon Readers", city="Lyon", country="France")
        create_club(other, name="Other Club", city="Lyon", country="France")
        contest_id = new_contest(kind=ContestKind.CLUBS)
    url = f"{API}/contests/{contest_id}/entries"
    token = bearer(api_login(client, "owner@example.com"))
    assert set(problem_of(client.post(url, headers=token), 409)["errors"]) == {"club"}  # this contest's kind
    assert set(problem_of(client.post(url, json={"club": ""}, headers=token), 422)["errors"]) == {"club"}
    problem_of(client.post(url, json={"club": "nowhere"}, headers=token), 404)
    problem_of(client.post(url, json={"club": "other-club"}, headers=token), 403)
    response = client.post(url, json={"club": "lyon-readers"}, headers=token)
    assert response.status_code == 201 and response.get_json()["club"] == "lyon-readers"
    problem_of(client.post(url, json={"club": "lyon-readers"}, headers=token), 409)
    with app.app_context():
        assert db.session.scalar(select(Contest.status).where(Contest.id == contest_id)) == "open"
