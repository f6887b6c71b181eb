"""A shop with a history, for the backup and restore drill: card orders (with tax, shipping and a
discount code, one refunded), a guest's open order, donations (one partly refunded, one unpaid), a
fund purchase, reading logs and a scored contest, all made through the services and the checkout.

``money_figures`` and ``every_row`` read back what a restore must reproduce exactly.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, inspect, select, text

from app.contests.reading import log_book
from app.contests.services import create_contest, enter_contest, open_contest, score_contest
from app.donations.fund import donated_total, fund_balance
from app.donations.shelf import add_to_wishlist, buy_from_fund
from app.extensions import db
from app.models import (
    Club,
    Contest,
    ContestKind,
    Donation,
    FundEntry,
    Metric,
    Order,
    OrderLine,
    PaymentEvent,
    User,
)
from app.orders.fulfilment import refund_order
from tests.factories import isbn_for, make_books, make_guest_order
from tests.helpers import login_as, make_user
from tests.payments.money import open_club, pay, pending_donation, refund
from tests.shop import FR_ADDRESS, checkout, open_shop

READER = "reader@example.com"


def build_busy_shop(app) -> None:
    """Make the history in ``app``'s (empty) database."""
    with app.app_context():
        open_shop()
        books = make_books(
            [
                {"title": f"Drill {i}", "isbn": isbn_for(880000 + i), "price": f"{12 + i}.50", "stock": 20}
                for i in range(4)
            ]
        )
        book_ids = [b.id for b in books]
        make_user(email=READER, name="Rosa Reader")
        owls = open_club()
        larks = open_club("lark@example.com", "Early Larks")
        owner = _user("owner@example.com")
        donors = [make_user(email=f"donor{i}@example.com", name=f"Donor {i}") for i in range(3)]

        contest = create_contest(
            title="Autumn drive",
            kind=ContestKind.CLUBS,
            metric=Metric.MONEY_DONATED,
            starts_at=datetime.now(UTC) - timedelta(hours=1),
            ends_at=datetime.now(UTC) + timedelta(hours=1),
            provisional_hours=0,
        )
        enter_contest(contest, owner, owls)
        enter_contest(contest, _user("lark@example.com"), larks)
        open_contest(contest)

        first = pending_donation(owls, donors[0], 2500)
        pay(first)
        refund(first, 500)
        pay(pending_donation(owls, donors[1], 4000))
        pay(pending_donation(larks, donors[2], 3100))
        pending_donation(larks, donors[0], 700)  # never paid
        wished = add_to_wishlist(owls, book_ids[3])
        buy_from_fund(owls, owner, [wished.id])

        for days_ago, pages in ((1, 320), (3, 210)):
            log_book(
                donors[1],
                title=f"Log {days_ago}",
                author="A. Writer",
                pages=pages,
                finished_on=date.today() - timedelta(days=days_ago),
            )
        contest_id = contest.id

    client = app.test_client()
    assert login_as(client, email=READER).status_code in (302, 303)
    assert client.post("/cart/add", data={"book_id": book_ids[2], "quantity": 1}).status_code == 303
    refunded_id, url = checkout(client, method="Express")
    assert client.post(url, data={"action": "pay"}).status_code in (200, 302, 303)
    for book_id, quantity in ((book_ids[0], 2), (book_ids[1], 1)):
        assert client.post("/cart/add", data={"book_id": book_id, "quantity": quantity}).status_code == 303
    _, url = checkout(client, FR_ADDRESS, "Colissimo", code="WELCOME10")  # VAT, shipping and 10% off
    assert client.post(url, data={"action": "pay"}).status_code in (200, 302, 303)

    with app.app_context():
        refund_order(refunded_id)
        make_guest_order("guest@example.com", [(db.session.get(type(books[0]), book_ids[1]), 1)])
        contest = db.session.get(Contest, contest_id)
        contest.ends_at = datetime.now(UTC) - timedelta(seconds=1)  # the window has closed
        db.session.commit()
        assert score_contest(contest_id) != "not over yet"


def _user(email: str) -> User:
    return db.session.scalar(select(User).where(User.email == email))


def money_figures() -> dict:
    """Every total and balance a reader, a club or the accounts would look at (in an app context)."""
    db.session.expire_all()
    line_sums = dict(
        db.session.execute(
            select(OrderLine.order_id, func.sum(OrderLine.unit_price_cents * OrderLine.quantity)).group_by(
                OrderLine.order_id
            )
        ).all()
    )
    orders = {
        o.id: (
            o.status,
            o.total_cents,
            o.subtotal_cents,
            o.shipping_cents,
            o.tax_cents,
            o.discount_cents,
            o.refunded_cents,
            line_sums.get(o.id),
            o.stock_taken,
        )
        for o in db.session.scalars(select(Order))
    }
    donations = {
        d.id: (d.status, d.amount_cents, d.refunded_cents, d.club_id) for d in db.session.scalars(select(Donation))
    }
    clubs = {}
    for club_id in db.session.scalars(select(Club.id)):
        last = db.session.scalar(
            select(FundEntry.balance_after_cents).where(FundEntry.club_id == club_id).order_by(FundEntry.id.desc())
        )
        clubs[club_id] = (fund_balance(club_id), donated_total(club_id), last)
    return {
        "orders": orders,
        "donations": donations,
        "clubs": clubs,
        "contests": {c.id: (c.status, c.standings) for c in db.session.scalars(select(Contest))},
        "payment events": db.session.execute(
            select(func.count(PaymentEvent.id), func.coalesce(func.sum(PaymentEvent.amount_cents), 0))
        )
        .one()
        ._tuple(),
        "paid in": db.session.scalar(select(func.sum(Order.total_cents - Order.refunded_cents))),
    }


def every_row() -> dict[str, list[tuple]]:
    """Every row of every table the app knows, in primary-key order, plus each table's count."""
    db.session.expire_all()
    rows = {}
    for table in db.metadata.sorted_tables:
        rows[table.name] = [tuple(r) for r in db.session.execute(select(table).order_by(*table.primary_key.columns))]
    names = inspect(db.engine).get_table_names()
    rows["(row counts)"] = {name: db.session.scalar(text(f'SELECT count(*) FROM "{name}"')) for name in names}
    return rows
