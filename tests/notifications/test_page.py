"""The notifications page, the unread badge in the nav, and shell mode (the app's webview)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Notification
from app.notifications.inbox import notify
from tests.clubs import HTMX, add_member, start_club, user_id
from tests.helpers import login_as, make_user

SHELL_UA = "Mozilla/5.0 (Linux; Android 15) BookCommerceShell/1.0"


def send(app, email: str, title: str, *, key: str | None = None, url: str = "", created_at=None) -> None:
    """Something happened to the reader (as a service would record it)."""
    with app.app_context():
        notify(user_id(email), kind="club", key=key or f"test:{email}:{title}", title=title, url=url)
        db.session.commit()
        if created_at is not None:
            row = db.session.scalar(select(Notification).where(Notification.title == title))
            row.created_at = created_at
            db.session.commit()


def badge(client) -> str:
    return client.get("/notifications/badge").get_data(as_text=True).strip()


def test_visitors_are_sent_to_log_in_and_get_no_badge(app, client):
    response = client.get("/notifications")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    assert client.post("/notifications/read").status_code == 302
    assert badge(client) == ""
    assert "Notifications" not in client.get("/").get_data(as_text=True)


def test_a_join_decision_shows_on_the_page_and_in_the_badge(app, client):
    with app.app_context():
        club = start_club(name="Secret Circle", visibility="private")
        make_user(email="reader@example.com", name="Rosa Reader")
        membership_id = add_member(club.id, "reader@example.com", "Rosa Reader", status="pending")
    login_as(client, "owner@example.com")
    assert client.post(f"/clubs/{club.slug}/members/{membership_id}/approve").status_code in (200, 303)
    client.post("/auth/logout")

    login_as(client, "reader@example.com")
    home = client.get("/").get_data(as_text=True)
    assert 'href="/notifications"' in home and 'hx-get="/notifications/badge"' in home
    assert re.search(r">1<span class=\"visually-hidden\"> unread", badge(client))

    page = client.get("/notifications").get_data(as_text=True)
    assert "Your request to join Secret Circle" in page
    assert f'href="/clubs/{club.slug}"' in page
    assert "notification-unread" in page and "Mark all as read" in page


def test_newest_first_with_times_in_the_readers_zone(app, client):
    with app.app_context():
        make_user(time_zone="Asia/Tokyo")
    send(app, "reader@example.com", "Older news", created_at=datetime(2026, 3, 1, 9, 30, tzinfo=UTC))
    send(app, "reader@example.com", "Newer news", url="/orders/7")
    login_as(client)
    page = client.get("/notifications").get_data(as_text=True)
    assert page.index("Newer news") < page.index("Older news")
    assert "01 Mar 2026, 18:30" in page  # 09:30 UTC in Tokyo
    assert '<a href="/orders/7" class="notification-title">Newer news</a>' in page


def test_readers_see_only_their_own(app, client):
    with app.app_context():
        make_user()
        make_user(email="other@example.com", name="Otto Other")
    send(app, "other@example.com", "Not for Rosa")
    login_as(client)
    assert "Not for Rosa" not in client.get("/notifications").get_data(as_text=True)
    assert badge(client) == ""


def test_mark_all_as_read_with_htmx_clears_the_badge(app, client):
    with app.app_context():
        make_user()
    send(app, "reader@example.com", "First")
    send(app, "reader@example.com", "Second")
    login_as(client)
    assert ">2<" in badge(client)

    response = client.post("/notifications/read", headers=HTMX)
    assert response.status_code == 200
    fragment = response.get_data(as_text=True)
    assert fragment.lstrip().startswith('<section id="notifications"') and "<html" not in fragment
    assert "First" in fragment and "notification-unread" not in fragment and "Mark all as read" not in fragment
    events = json.loads(response.headers["HX-Trigger"])
    assert "notifications-read" in events and events["toast"]["message"] == "All notifications are marked as read."
    assert badge(client) == ""

    # A plain form post (no JavaScript) lands back on the page.
    send(app, "reader@example.com", "Third")
    plain = client.post("/notifications/read")
    assert plain.status_code == 303 and plain.headers["Location"].endswith("/notifications")
    assert badge(client) == ""


def test_long_lists_page_backwards(app, client):
    with app.app_context():
        make_user()
    for n in range(25):
        send(app, "reader@example.com", f"News {n:02d}")
    login_as(client)
    first = client.get("/notifications").get_data(as_text=True)
    assert "News 24" in first and "News 05" in first and "News 04" not in first
    older = re.search(r'href="(/notifications\?before=\d+)"', first).group(1)
    second = client.get(older).get_data(as_text=True)
    assert "News 04" in second and "News 00" in second and "News 05" not in second
    assert "Older notifications" not in second


def test_page_and_badge_use_a_fixed_number_of_queries(app, client, count_queries):
    with app.app_context():
        make_user()
    login_as(client)

    def cost(path: str) -> int:
        with count_queries() as q:
            assert client.get(path).status_code == 200
        return q.count

    send(app, "reader@example.com", "One")
    page_with_one, badge_with_one = cost("/notifications"), cost("/notifications/badge")
    for n in range(15):
        send(app, "reader@example.com", f"More {n}", url=f"/orders/{n}")
    assert cost("/notifications") == page_with_one
    assert cost("/notifications/badge") == badge_with_one <= 2  # the reader, then one count


def test_a_page_costs_no_query_for_the_badge(app, client, count_queries):
    """The nav's count comes with the reader's cached snapshot (loaded once), so pages do not pay for it."""
    with app.app_context():
        make_user()
    login_as(client)
    client.get("/account")  # the snapshot (row, cart count, unread count) is loaded once after log in
    with count_queries() as q:
        client.get("/account/password")
    assert not any("notifications" in s for s in q.statements)


def test_shell_mode_hides_the_sites_navigation_but_keeps_messages(app, client):
    with app.app_context():
        make_user()
    plain = client.get("/").get_data(as_text=True)
    assert 'class="container site-header"' in plain and 'class="container site-footer"' in plain

    shell = client.get("/", headers={"User-Agent": SHELL_UA})
    html = shell.get_data(as_text=True)
    assert 'class="container site-header"' not in html and 'class="container site-footer"' not in html
    assert '<main id="main"' in html
    assert "User-Agent" in shell.headers["Vary"] and "HX-Request" in shell.headers["Vary"]

    login_as(client)
    client.post("/auth/logout", headers={"User-Agent": SHELL_UA})
    after = client.get("/", headers={"User-Agent": SHELL_UA}).get_data(as_text=True)
    assert "You are logged out on every device." in after and "site-header" not in after


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")  # TestingConfig's short key
def test_the_site_and_the_app_read_the_same_notifications(app, client):
    from app.accounts.refresh_tokens import issue_tokens

    with app.app_context():
        user = make_user()
        token = issue_tokens(user).access_token
    send(app, "reader@example.com", "Your order is on its way", url="/orders/3")
    api = {"Authorization": f"Bearer {token}"}
    listed = client.get("/api/v1/notifications", headers=api).get_json()
    assert [n["title"] for n in listed["items"]] == ["Your order is on its way"] and listed["unread"] == 1

    login_as(client)
    client.post("/notifications/read", headers=HTMX)  # read on the site...
    assert client.get("/api/v1/notifications", headers=api).get_json()["unread"] == 0  # ...read in the app

    send(app, "reader@example.com", "A new contest")
    client.post("/api/v1/notifications/read", json={"all": True}, headers=api)  # and the other way round
    assert badge(client) == ""
    assert "notification-unread" not in client.get("/notifications").get_data(as_text=True)


def test_a_request_handled_by_a_moderator_is_no_longer_new_for_the_owner(app, client):
    with app.app_context():
        club = start_club(name="Secret Circle", visibility="private")
        make_user(email="reader@example.com", name="Rosa Reader")
        add_member(club.id, "mod@example.com", "Mo Moderator", role="moderator")
    login_as(client, "reader@example.com")
    assert client.post(f"/clubs/{club.slug}/join").status_code == 303
    client.post("/auth/logout")
    login_as(client, "mod@example.com")
    assert (
        client.post(
            f"/clubs/{club.slug}/offers", data={"title": "Dune", "author": "Frank Herbert", "condition": "good"}
        ).status_code
        == 303
    )
    client.post("/auth/logout")

    login_as(client, "owner@example.com")
    page = client.get("/notifications").get_data(as_text=True)
    assert page.count('class="notification-new"') == 2
    client.post("/auth/logout")

    login_as(client, "mod@example.com")
    with app.app_context():
        from app.models import BookOffer, Membership

        pending = db.session.scalar(select(Membership.id).where(Membership.status == "pending"))
        offer_id = db.session.scalar(select(BookOffer.id))
    assert client.post(f"/clubs/{club.slug}/members/{pending}/approve").status_code == 303
    assert client.post(f"/clubs/{club.slug}/offers/{offer_id}/decline").status_code == 303
    client.post("/auth/logout")

    login_as(client, "owner@example.com")
    page = client.get("/notifications").get_data(as_text=True)
    assert "Rosa Reader asks to join Secret Circle" in page and "Mo Moderator offers" in page
    assert 'class="notification-new"' not in page
    assert "unread" not in badge(client)
