"""Notifications in the shell: newest first, older ones by cursor, marking them read."""

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Notification, User
from app.notifications.inbox import notify
from tests.api import API, api_login, assert_shape, bearer, problem_of
from tests.helpers import make_user

READER = "reader@example.com"


@pytest.fixture
def token(client, app):
    """A reader with 25 notifications (n0 the oldest), and someone else's one."""
    with app.app_context():
        user = make_user(email=READER)
        other = make_user(email="other@example.com", name="Otto")
        for n in range(25):
            notify(user.id, kind="order", key=f"n{n}", title=f"Note {n}", body="Body", url=f"/orders/{n}")
        notify(other.id, kind="club", key="other", title="Not yours")
        db.session.commit()
    return bearer(api_login(client, READER))


def ids_of(app, *titles) -> list[int]:
    with app.app_context():
        return list(db.session.scalars(select(Notification.id).where(Notification.title.in_(titles))))


def test_notifications_come_newest_first_with_a_cursor_for_older_ones(client, token):
    first = client.get(f"{API}/notifications?limit=10", headers=token).get_json()
    assert_shape(first, "NotificationList")
    assert [n["title"] for n in first["items"]][:2] == ["Note 24", "Note 23"] and len(first["items"]) == 10
    assert first["unread"] == 25
    item = first["items"][0]
    assert (item["kind"], item["body"], item["read"]) == ("order", "Body", False)
    assert item["url"] == "http://localhost/orders/24" and item["created_at"].endswith("Z")
    second = client.get(f"{API}/notifications?limit=10&before={first['next_before']}", headers=token).get_json()
    assert [n["title"] for n in second["items"]][0] == "Note 14"
    last = client.get(f"{API}/notifications?limit=10&before={second['next_before']}", headers=token).get_json()
    assert len(last["items"]) == 5 and last["next_before"] is None
    assert "Not yours" not in str(first) + str(second) + str(last)
    assert len(client.get(f"{API}/notifications", headers=token).get_json()["items"]) == 20


def test_the_list_is_checked_and_needs_a_token(client, token):
    problem_of(client.get(f"{API}/notifications"), 401)
    errors = problem_of(client.get(f"{API}/notifications?limit=51&before=x", headers=token), 422)["errors"]
    assert set(errors) == {"limit", "before"}
    problem_of(client.get(f"{API}/notifications?limit=0", headers=token), 422)
    problem_of(client.get(f"{API}/notifications?before=99999999999999", headers=token), 422)


def test_marking_some_or_all_read(client, app, token):
    mine = ids_of(app, "Note 1", "Note 2")
    theirs = ids_of(app, "Not yours")
    response = client.post(f"{API}/notifications/read", json={"ids": mine + theirs}, headers=token)
    assert response.status_code == 200
    assert_shape(response.get_json(), "MarkedRead")
    assert response.get_json() == {"marked": 2, "unread": 23}  # someone else's stays theirs
    again = client.post(f"{API}/notifications/read", json={"ids": mine}, headers=token).get_json()
    assert again == {"marked": 0, "unread": 23}
    listed = client.get(f"{API}/notifications?limit=50", headers=token).get_json()["items"]
    assert {n["title"] for n in listed if n["read"]} == {"Note 1", "Note 2"}
    everything = client.post(f"{API}/notifications/read", json={"all": True}, headers=token).get_json()
    assert everything == {"marked": 23, "unread": 0}
    with app.app_context():
        other = db.session.scalar(select(User).where(User.email == "other@example.com"))
        assert db.session.get(Notification, theirs[0]).read_at is None and other is not None


def test_marking_read_is_checked(client, token):
    url = f"{API}/notifications/read"
    problem_of(client.post(url, json={"all": True}), 401)
    for body, fields in (
        ({}, {"ids"}),
        ({"all": False}, {"ids"}),
        ({"all": "yes"}, {"all"}),
        ({"ids": "1,2"}, {"ids"}),
        ({"ids": [1, True]}, {"ids"}),
        ({"ids": [0]}, {"ids"}),
        ({"ids": [2**40]}, {"ids"}),
        ({"ids": list(range(1, 102))}, {"ids"}),
    ):
        assert set(problem_of(client.post(url, json=body, headers=token), 422)["errors"]) == fields, body
    problem_of(client.post(url, data="all", headers=token), 400)
