"""The reader's notifications for the shell: newest first with a cursor, and marking them read."""

from __future__ import annotations

from flask import g

from app.api import bp, serializers
from app.api.common import invalid, token_required
from app.api.inputs import JsonFields, QueryArgs, query_param
from app.api.openapi import SECURED, describe, json_content, problems, ref
from app.api.serializers import MAX_ID
from app.notifications.inbox import mark_read, notifications_for, unread_count

MAX_LIMIT = 50
MAX_IDS = 100


@bp.route("/notifications")
@token_required
def notifications():
    """A page of notifications, newest first; ``next_before`` asks for the older ones."""
    args = QueryArgs()
    before = args.integer("before", 1, MAX_ID)
    limit = args.integer("limit", 1, MAX_LIMIT, default=20)
    args.check()
    # One more than asked says whether there is an older page.
    found = notifications_for(g.api_user, before_id=before, limit=limit + 1)
    items = found[:limit]
    return {
        "items": [serializers.notification(item) for item in items],
        "next_before": items[-1].id if len(found) > limit else None,
        "unread": unread_count(g.api_user),
    }


@bp.route("/notifications/read", methods=["POST"])
@token_required
def read():
    """Mark some notifications (``ids``) or all of them (``all: true``) read."""
    fields = JsonFields.of_body()
    ids = fields.ids("ids", MAX_IDS)
    everything = fields.boolean("all")
    fields.check()
    if not everything and ids is None:
        raise invalid({"ids": ["Give the ids to mark read, or all: true."]})
    marked = mark_read(g.api_user, None if everything else ids)
    return {"marked": marked, "unread": unread_count(g.api_user)}


# ---- The contract ---------------------------------------------------------------------------

describe(
    "/notifications",
    "get",
    {
        "summary": "Your notifications, newest first",
        "operationId": "listNotifications",
        "security": SECURED,
        "parameters": [
            query_param(
                "before", {"type": "integer", "minimum": 1, "maximum": MAX_ID}, "next_before of the last page."
            ),
            query_param(
                "limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}, "How many (20 unless given)."
            ),
        ],
        "responses": {
            "200": {"description": "A page of notifications", "content": json_content(ref("NotificationList"))},
            **problems(401, 422),
        },
    },
)
describe(
    "/notifications/read",
    "post",
    {
        "summary": "Mark notifications read: some (ids) or all",
        "operationId": "markNotificationsRead",
        "security": SECURED,
        "requestBody": {
            "required": True,
            "content": json_content(
                {
                    "type": "object",
                    "properties": {
                        "ids": {"type": "array", "maxItems": MAX_IDS, "items": serializers.ID},
                        "all": {"type": "boolean"},
                    },
                    "anyOf": [{"required": ["ids"]}, {"required": ["all"], "properties": {"all": {"const": True}}}],
                }
            ),
        },
        "responses": {
            "200": {
                "description": "How many changed, and how many are still unread",
                "content": json_content(ref("MarkedRead")),
            },
            **problems(400, 401, 422),
        },
    },
)
