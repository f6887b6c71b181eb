"""The signed-in reader: who they are, their clubs, orders and donations, and their phones."""

from __future__ import annotations

from types import SimpleNamespace

from flask import g, url_for

from app.api import bp
from app.api.club_shapes import MyClubPage
from app.api.common import LIST_HEADERS, page_in_memory, token_required
from app.api.shapes import Device, DeviceRequest, MyDonationPage, OrderPage, PageArgs, Reader
from app.clubs.queries import clubs_of
from app.donations.services import donations_by_user
from app.notifications.devices import register_device
from app.notifications.inbox import unread_count
from app.orders.services import orders_for_user

TAGS = ["me"]


@bp.route("/me", tags=TAGS)
@token_required
@bp.response(200, Reader)
@bp.doc(operationId="getMe")
def me():
    """The signed-in reader"""
    return SimpleNamespace(
        **{name: getattr(g.api_user, name) for name in ("id", "email", "name", "is_verified", "time_zone")},
        unread_notifications=unread_count(g.api_user),
    )


@bp.route("/me/clubs", tags=TAGS)
@token_required
@bp.arguments(PageArgs, location="query")
@bp.response(200, MyClubPage, headers=LIST_HEADERS)
@bp.doc(operationId="listMyClubs")
def my_clubs(args):
    """Your clubs, with your role and status"""
    rows = [
        SimpleNamespace(club=club, membership=membership, url=url_for("clubs.show", slug=club.slug, _external=True))
        for club, membership in clubs_of(g.api_user)
    ]
    return page_in_memory(rows, args["page"], args["per_page"], "api.my_clubs")


@bp.route("/me/orders", tags=TAGS)
@token_required
@bp.arguments(PageArgs, location="query")
@bp.response(200, OrderPage, headers=LIST_HEADERS)
@bp.doc(operationId="listMyOrders")
def my_orders(args):
    """Your orders, newest first"""
    rows = [{"order": order, "copies": copies} for order, copies in orders_for_user(g.api_user)]
    return page_in_memory(rows, args["page"], args["per_page"], "api.my_orders")


@bp.route("/me/donations", tags=TAGS)
@token_required
@bp.arguments(PageArgs, location="query")
@bp.response(200, MyDonationPage, headers=LIST_HEADERS)
@bp.doc(operationId="listMyDonations")
def my_donations(args):
    """Your donations, newest first"""
    return page_in_memory(donations_by_user(g.api_user), args["page"], args["per_page"], "api.my_donations")


@bp.route("/devices", methods=["POST"], tags=TAGS)
@token_required
@bp.arguments(DeviceRequest)
@bp.response(201, Device, description="Registered for you")
@bp.alt_response(200, schema=Device, description="Already registered for you: seen again", success=True)
@bp.doc(operationId="registerDevice")
def register_push_device(body):
    """Register this phone for push notifications (again: it just says the phone is still in use)"""
    device, created = register_device(g.api_user, body["platform"], body["push_token"])
    return device, 201 if created else 200
