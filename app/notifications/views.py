"""Notifications for the site: the list, "mark all as read", and the unread badge in the nav."""

from flask import current_app, make_response, render_template, request, url_for
from flask_login import current_user, login_required

from app.accounts.user_cache import unread_count_of
from app.forms import ConfirmForm
from app.htmx import add_toast, is_partial, redirect_after_post, render_page_or_fragment, trigger
from app.ids import parse_id
from app.notifications import inbox
from app.notifications.web import bp
from app.page_cache import register_hole

PER_PAGE = 20


def _page(before: int | None) -> dict:
    """One page of the reader's notifications, newest first, and the cursor for older ones."""
    found = inbox.notifications_for(current_user, before_id=before, limit=PER_PAGE + 1)
    older = found[PER_PAGE - 1].id if len(found) > PER_PAGE else None
    return {"notifications": found[:PER_PAGE], "older": older, "before": before, "form": ConfirmForm()}


@bp.route("/notifications")
@login_required
def index():
    before = parse_id(request.args.get("before"))
    return render_page_or_fragment("notifications/index.html", "notifications/_list.html", **_page(before))


@bp.route("/notifications/read", methods=["POST"])
@login_required
def mark_all_read():
    changed = inbox.mark_read(current_user) if ConfirmForm().validate_on_submit() else 0
    if not is_partial():
        return redirect_after_post(url_for("notifications.index"))
    response = make_response(render_template("notifications/_list.html", **_page(None)))
    trigger(response, "notifications-read")  # the nav badge listens for this
    if changed:
        add_toast(response, "All notifications are marked as read.")
    return response


def _unread() -> int:
    """The reader's unread count: it comes with their cached snapshot, so a page pays no query."""
    return unread_count_of(current_user.id) if current_user.is_authenticated else 0


@bp.app_context_processor
def notification_badge():
    return {"unread_notifications": _unread}


def _badge_html() -> str:
    # The header's badge on a cached page: the bare template, without Flask's context processors.
    return current_app.jinja_env.get_template("notifications/_badge.html").render(unread=_unread())


_badges: dict[tuple[int, int], str] = {}


def _badge_for(app, reader) -> str:  # noqa: ANN001 - a Flask app and app.page_serving.Reader
    """The badge for a page answered before Flask, rendered once per app and count."""
    unread = min(reader.unread, 100) if reader else 0  # the badge reads "99+" from 100 on
    key = (id(app), unread)
    if key not in _badges:
        with app.app_context():
            _badges[key] = app.jinja_env.get_template("notifications/_badge.html").render(unread=unread)
    return _badges[key]


register_hole("unread_badge", _badge_html, fast=_badge_for)


@bp.route("/notifications/badge")
def badge():
    """The unread count for the nav (htmx polls it); nothing for a visitor."""
    unread = _unread()
    response = make_response(render_template("notifications/_badge.html", unread=unread))
    response.headers["Cache-Control"] = "no-store"
    return response
