"""The signed-in reader's address book for the shell: the same services and messages as the site.

A country's refusal (a postcode of the wrong shape, a missing state) is a 422 naming the field,
with the site's sentence; another reader's address is a 404, as if it did not exist.
"""

from __future__ import annotations

from types import SimpleNamespace

from flask import g, request
from flask.views import MethodView

from app.addresses import services
from app.addresses.services import FIELDS, AddressInvalid, AddressNotFound
from app.api import bp
from app.api.address_shapes import Address, AddressChanges, AddressPage, AddressRequest
from app.api.common import LIST_HEADERS, ApiError, invalid, not_found, page_in_memory, problems, token_required
from app.api.shapes import PageArgs
from app.ids import MAX_ID

TAGS = ["me"]
ADDRESS_ROUTE = f"/me/addresses/<int(min=1, max={MAX_ID}):address_id>"


def address_view(address) -> SimpleNamespace:
    copy = services.snapshot(address)
    return SimpleNamespace(
        **copy,
        id=address.id,
        is_default=address.is_default,
        created_at=address.created_at,
        updated_at=address.updated_at,
    )


def _refused(exc: AddressInvalid):
    return invalid({name: [message] for name, message in exc.errors.items()}, "Check the address.")


def _own(address_id: int):
    try:
        return services.get_address(g.api_user, address_id)
    except AddressNotFound:
        raise not_found("There is no such address in your address book.") from None


@bp.route("/me/addresses", tags=TAGS)
@token_required
@bp.arguments(PageArgs, location="query")
@bp.response(200, AddressPage, headers=LIST_HEADERS)
@bp.doc(operationId="listMyAddresses")
def my_addresses(args):
    """Your addresses, the default first"""
    rows = [address_view(address) for address in services.addresses_for(g.api_user)]
    return page_in_memory(rows, args["page"], args["per_page"], "api.my_addresses")


@bp.route("/me/addresses", methods=["POST"], tags=TAGS)
@token_required
@bp.arguments(AddressRequest)
@bp.response(201, Address, description="Saved in your address book")
@bp.doc(operationId="addMyAddress")
def add_my_address(body):
    """Add an address (checked against its country's rules); your first becomes the default"""
    make_default = body.pop("is_default", False)
    try:
        return address_view(services.add_address(g.api_user, body, make_default=make_default))
    except AddressInvalid as exc:
        raise _refused(exc) from None


@bp.route(ADDRESS_ROUTE, tags=TAGS)
class MyAddress(MethodView):
    """One of your addresses: one rule for its three methods, so an id out of range is a 404 for each."""

    @token_required
    @bp.response(200, Address)
    @problems(404)
    @bp.doc(operationId="getMyAddress")
    def get(self, address_id: int):
        """One of your addresses"""
        return address_view(_own(address_id))

    @token_required
    @bp.arguments(AddressChanges)
    @bp.response(200, Address)
    @problems(400, 404)
    @bp.doc(operationId="updateMyAddress")
    def patch(self, body, address_id: int):
        """Change some fields of one of your addresses (the whole address is checked again)"""
        if not request.get_data().strip():  # `{}` changes nothing; no body at all is a mistake
            raise ApiError(400, "Bad Request", "Send a JSON object with the fields to change.")
        address = _own(address_id)
        make_default = body.pop("is_default", False)
        data = {name: getattr(address, name) for name in FIELDS} | body
        try:
            return address_view(services.update_address(g.api_user, address.id, data, make_default=make_default))
        except AddressInvalid as exc:
            raise _refused(exc) from None

    @token_required
    @bp.response(204)
    @problems(404)
    @bp.doc(operationId="deleteMyAddress")
    def delete(self, address_id: int):
        """Delete one of your addresses (if it was the default, your newest other one takes over)"""
        try:
            services.delete_address(g.api_user, address_id)
        except AddressNotFound:
            raise not_found("There is no such address in your address book.") from None
