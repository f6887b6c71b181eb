"""Refunding a purchase paid from the club fund (``flask orders refund``): the money goes back to the fund."""

from __future__ import annotations

from sqlalchemy import select

from app.donations.fund import add_entry, lock_fund
from app.donations.shelf import add_to_wishlist, buy_from_fund
from app.extensions import db
from app.models import FundEntry, Order, OrderStatus, User
from tests.donations import OWNER, balance, club_named, fund_entries, open_club
from tests.factories import isbn_for, make_books


def test_a_fund_purchase_refunded_in_two_steps_returns_exactly_its_price(app, inbox):
    slug = open_club(app)
    with app.app_context():
        club = club_named(slug)
        [book] = make_books([{"title": "Shelf Book", "isbn": isbn_for(4242), "price": "10.00", "stock": 2}])
        item = add_to_wishlist(club, book.id)
        lock_fund(club.id)
        add_entry(club.id, FundEntry.DONATION, 2500, "Opening balance")
        db.session.commit()
        owner = db.session.scalar(select(User).where(User.email == OWNER))
        order_id = buy_from_fund(club, owner, [item.id]).id
    assert balance(app, slug) == 1500
    runner = app.test_cli_runner()

    part = runner.invoke(args=["orders", "refund", str(order_id), "--amount", "4.00"])
    too_much = runner.invoke(args=["orders", "refund", str(order_id), "--amount", "7.00"])
    rest = runner.invoke(args=["orders", "refund", str(order_id)])
    again = runner.invoke(args=["orders", "refund", str(order_id)])

    assert part.exit_code == 0, part.output
    assert too_much.exit_code == 1 and "only $6.00 is left to refund" in too_much.output
    assert rest.exit_code == 0 and "status now: Refunded" in rest.output
    assert again.exit_code == 1 and "already refunded" in again.output
    assert fund_entries(app, slug)[-2:] == [
        (FundEntry.PURCHASE_REFUND, 400, 1900),
        (FundEntry.PURCHASE_REFUND, 600, 2500),
    ]
    assert balance(app, slug) == 2500
    with app.app_context():
        order = db.session.get(Order, order_id)
        assert (order.status, order.refunded_cents) == (OrderStatus.REFUNDED, 1000)
    assert any("refund of 4.00" in m["Subject"] for m in inbox.wait_for(OWNER, 2))
