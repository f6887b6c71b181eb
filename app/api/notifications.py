"""The reader's notifications for the shell: newest first with a cursor, and marking them read."""

from __future__ import annotations

from flask import g

from app.api import bp
from app.api.common import token_required
from app.api.shapes import MarkedRead, MarkReadRequest, NotificationList, NotificationQuery
from app.notifications.inbox import mark_read, notifications_for, unread_count

TAGS = ["notifications"]


@bp.route("/notifications", tags=TAGS)
@token_required
@bp.arguments(NotificationQuery, location="query")
@bp.response(200, NotificationList)
@bp.doc(operationId="listNotifications")
def notifications(args):
    """Your notifications, newest first; ``next_before`` asks for the older ones"""
    limit = args["limit"]
    # One more than asked says whether there is an older page.
    found = notifications_for(g.api_user, before_id=args.get("before"), limit=limit + 1)
    items = found[:limit]
    return {
        "items": items,
        "next_before": items[-1].id if len(found) > limit else None,
        "unread": unread_count(g.api_user),
    }


@bp.route("/notifications/read", methods=["POST"], tags=TAGS)
@token_required
@bp.arguments(MarkReadRequest)
@bp.response(200, MarkedRead, description="How many changed, and how many are still unread")
@bp.doc(operationId="markNotificationsRead")
def read(body):
    """Mark notifications read: some (``ids``) or all (``all: true``)"""
    marked = mark_read(g.api_user, None if body["all"] else body["ids"])
    return {"marked": marked, "unread": unread_count(g.api_user)}
