"""A reader buys a book from a club's wishlist as a gift: the confirmation names the club and says
the parcel goes to the club's delivery address (never showing it), the reader picks the shipping
method, pays on the gateway's page, and the paid order is addressed to the club."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from app.clubs.services import create_club
from app.donations.shelf import add_to_wishlist
from app.extensions import cache, db
from app.models import Order, OrderStatus
from tests.clubs import add_member
from tests.e2e.journeys import PAYMENT_PAGE, log_in, pay_for_order
from tests.factories import make_books
from tests.helpers import make_user
from tests.shop import LISBON_ADDRESS, ready_to_receive

pytestmark = pytest.mark.browser


@pytest.fixture
def wishlist(app, live_app):
    """Rosa belongs to Night Owls (Lisbon), which wishes for Emma ($20.00) and has a delivery
    address; returns the club's slug."""
    with app.app_context():
        owner = make_user(email="olga@example.com", name="Olga Owner")
        club = create_club(owner, name="Night Owls", city="Lisbon", country="Portugal", visibility="public")
        add_member(club.id, "rosa@example.com", "Rosa Reader")
        db.session.commit()
        (emma,) = make_books([{"title": "Emma", "price": "20.00", "stock": 3}])
        add_to_wishlist(club, emma.id)
        ready_to_receive(club)
        slug = club.slug
    with live_app.app_context():
        cache.clear()
    return slug


def test_a_gift_from_the_wishlist_is_addressed_to_the_club(app, page: Page, wishlist):
    log_in(page, "rosa@example.com", "Rosa Reader")
    page.goto(f"/clubs/{wishlist}/wishlist")
    page.get_by_role("button", name=re.compile("^Buy for the club")).click()

    main = page.locator("main")
    page.wait_for_url(re.compile(r"/buy$"))
    expect(main).to_contain_text("A gift for Night Owls")
    expect(main).to_contain_text("Ships to Night Owls's delivery address.")
    assert LISBON_ADDRESS["line1"] not in page.content()  # the club's address stays private
    page.get_by_role("radio", name=re.compile("Express")).check()
    page.get_by_role("button", name="Update the total").click()
    expect(page.get_by_role("button", name="Confirm and pay $27.00")).to_be_visible()
    page.get_by_role("button", name="Confirm and pay $27.00").click()

    page.wait_for_url(PAYMENT_PAGE)
    order_id = pay_for_order(page, "$27.00")
    expect(main).to_contain_text("A gift for Night Owls")
    expect(main).to_contain_text("Night Owls's delivery address")
    assert LISBON_ADDRESS["line1"] not in page.content()
    with app.app_context():
        order = db.session.get(Order, order_id)
        assert order.status == OrderStatus.PAID
        assert (order.ship_to["line1"], order.ship_to["city"], order.ship_to["country_code"]) == (
            "Rua Augusta 1",
            "Lisboa",
            "PT",
        )
        assert (order.shipping_method, order.total_cents) == ("Express", 2700)
        assert db.session.scalar(select(Order.club_id).where(Order.id == order_id)) is not None
