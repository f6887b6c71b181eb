"""The signed-in reader: who they are, their clubs, orders and donations, and their phones."""

from __future__ import annotations

import re
from collections.abc import Callable

from flask import g

from app.api import bp, serializers
from app.api.common import token_required
from app.api.inputs import LIST_HEADERS, PAGE_PARAMS, JsonFields, QueryArgs, list_page
from app.api.openapi import SECURED, describe, json_content, problems, ref
from app.clubs.queries import clubs_of
from app.donations.services import donations_by_user
from app.notifications.devices import register_device
from app.notifications.inbox import unread_count
from app.orders.services import orders_for_user

PLATFORMS = ("ios", "android")
PUSH_TOKEN = r"[!-~]{1,512}"  # what APNs and FCM hand out: printable ASCII, no spaces


def _page_of(rows: list, serialize: Callable, endpoint: str):
    args = QueryArgs()
    page, per_page = args.pages()
    args.check()
    return list_page(rows, page, per_page, serialize, endpoint)


@bp.route("/me")
@token_required
def me():
    return serializers.reader(g.api_user, unread_count(g.api_user))


@bp.route("/me/clubs")
@token_required
def my_clubs():
    return _page_of(clubs_of(g.api_user), lambda row: serializers.my_club(*row), "api.my_clubs")


@bp.route("/me/orders")
@token_required
def my_orders():
    return _page_of(orders_for_user(g.api_user), lambda row: serializers.order(*row), "api.my_orders")


@bp.route("/me/donations")
@token_required
def my_donations():
    return _page_of(donations_by_user(g.api_user), serializers.my_donation, "api.my_donations")


@bp.route("/devices", methods=["POST"])
@token_required
def register_push_device():
    """Register this phone for push notifications (again: it just says the phone is still in use)."""
    fields = JsonFields.of_body()
    platform = fields.choice("platform", PLATFORMS)
    push_token = fields.text("push_token", 512, required=True)
    if "push_token" not in fields.errors and not re.fullmatch(PUSH_TOKEN, push_token):
        fields.fail("push_token", "Give the push token the phone's push service issued.")
    fields.check()
    device, created = register_device(g.api_user, platform, push_token)
    return serializers.device(device), 201 if created else 200


# ---- The contract ---------------------------------------------------------------------------


def _list(summary: str, operation_id: str, schema: str) -> dict:
    return {
        "summary": summary,
        "operationId": operation_id,
        "security": SECURED,
        "parameters": PAGE_PARAMS,
        "responses": {
            "200": {"description": summary, "headers": LIST_HEADERS, "content": json_content(ref(schema))},
            **problems(401, 422),
        },
    }


describe(
    "/me",
    "get",
    {
        "summary": "The signed-in reader",
        "operationId": "getMe",
        "security": SECURED,
        "responses": {"200": {"description": "You", "content": json_content(ref("Reader"))}, **problems(401)},
    },
)
describe("/me/clubs", "get", _list("Your clubs, with your role and status", "listMyClubs", "MyClubPage"))
describe("/me/orders", "get", _list("Your orders, newest first", "listMyOrders", "OrderPage"))
describe("/me/donations", "get", _list("Your donations, newest first", "listMyDonations", "MyDonationPage"))
describe(
    "/devices",
    "post",
    {
        "summary": "Register this phone for push notifications",
        "operationId": "registerDevice",
        "security": SECURED,
        "requestBody": {
            "required": True,
            "content": json_content(
                {
                    "type": "object",
                    "required": ["platform", "push_token"],
                    "properties": {
                        "platform": {"enum": list(PLATFORMS)},
                        "push_token": {"type": "string", "pattern": f"^{PUSH_TOKEN}$"},
                    },
                }
            ),
        },
        "responses": {
            "201": {"description": "Registered for you", "content": json_content(ref("Device"))},
            "200": {"description": "Already registered for you: seen again", "content": json_content(ref("Device"))},
            **problems(400, 401, 422),
        },
    },
)
