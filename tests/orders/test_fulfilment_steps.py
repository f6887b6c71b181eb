"""After payment: pack, ship, deliver, cancel and refund lines; each step once, on the timeline, by email."""

import time

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Book, EmailMessage, FulfilmentStatus, Order, OrderEvent, OrderLine, OrderStatus
from app.orders.shipping import (
    FulfilmentError,
    cancel_order,
    deliver_order,
    pack_order,
    refund_lines,
    ship_order,
    tracking_url_for,
)
from tests.factories import make_books
from tests.helpers import login_as, make_user
from tests.payments.money import fresh, pay, pending_order


@pytest.fixture
def paid_order(app_ctx):
    """Rosa paid for one Middlemarch ($11.00) and two Brontë novels ($9.50 each): $30.00 in all."""
    buyer = make_user()
    books = make_books(
        [
            {"title": "Middlemarch", "price": "11.00", "stock": 5},
            {"title": "Wuthering Heights by Emily Brontë", "price": "9.50", "stock": 5},
        ]
    )
    order = pending_order(buyer, books)
    line = db.session.scalar(select(OrderLine).where(OrderLine.order_id == order.id, OrderLine.book_id == books[1].id))
    line.quantity = 2
    order.total_cents = order.subtotal_cents = 1100 + 1900
    db.session.commit()
    assert pay(order) == "paid"
    return order.id


def events(order_id: int) -> list[str]:
    return list(
        db.session.scalars(select(OrderEvent.kind).where(OrderEvent.order_id == order_id).order_by(OrderEvent.id))
    )


def emails(template: str) -> int:
    return db.session.scalar(select(func.count(EmailMessage.id)).where(EmailMessage.template == template))


def stock_of(title_part: str) -> int:
    db.session.expire_all()
    return db.session.scalar(select(Book.stock).where(Book.title.contains(title_part)))


def test_a_paid_order_waits_for_packing_then_packs_ships_and_delivers(paid_order):
    order = fresh(Order, paid_order)
    assert order.fulfilment_status == FulfilmentStatus.AWAITING_PACKING and order.status == OrderStatus.PAID

    assert pack_order(paid_order, actor="cli") is True
    assert ship_order(paid_order, "ups", "1Z999AA10123456784") is True
    order = fresh(Order, paid_order)
    assert order.fulfilment_status == "shipped" and order.carrier == "UPS"
    assert order.tracking_url == "https://www.ups.com/track?tracknum=1Z999AA10123456784"
    assert deliver_order(paid_order) is True
    assert fresh(Order, paid_order).fulfilment_status == "delivered"
    assert events(paid_order) == ["paid", "packed", "shipped", "delivered"]
    assert emails("order_shipped") == 1 and emails("order_delivered") == 1


def test_shipping_straight_from_awaiting_packing_and_a_given_url(paid_order):
    assert ship_order(paid_order, "Royal Mail", "AB123", "https://track.example/AB123") is True
    assert fresh(Order, paid_order).tracking_url == "https://track.example/AB123"


def test_tracking_urls_from_the_carrier_table():
    assert tracking_url_for("La Poste", "6A 123") == "https://www.laposte.fr/outils/suivre-vos-envois?code=6A%20123"
    assert tracking_url_for("dhl", "42").endswith("AWB=42")
    assert tracking_url_for("Pigeon Post", "42") is None


def test_repeated_steps_do_nothing_the_second_time(paid_order):
    assert pack_order(paid_order) is True and pack_order(paid_order) is False
    assert ship_order(paid_order, "UPS", "1Z1") is True and ship_order(paid_order, "UPS", "1Z1") is False
    assert deliver_order(paid_order) is True and deliver_order(paid_order) is False
    assert events(paid_order) == ["paid", "packed", "shipped", "delivered"]
    assert emails("order_shipped") == 1 and emails("order_delivered") == 1


@pytest.mark.parametrize(
    ("before", "step", "message"),
    [
        (
            "shipped",
            lambda o: cancel_order(o, "changed my mind"),
            "Order {id} is already shipped; it can no longer be cancelled.",
        ),
        (
            "delivered",
            lambda o: cancel_order(o, "late"),
            "Order {id} is already delivered; it can no longer be cancelled.",
        ),
        ("shipped", lambda o: pack_order(o), "Order {id} is already shipped; it can no longer be packed."),
        ("none", lambda o: deliver_order(o), "Order {id} is already awaiting packing; it can no longer be delivered."),
        ("cancelled", lambda o: ship_order(o, "UPS", "1"), "Order {id} is already cancelled; it can not be shipped."),
        ("cancelled", lambda o: pack_order(o), "Order {id} is already cancelled; it can not be packed."),
        ("none", lambda o: refund_lines(o, {1: 1}), "Order {id} has not shipped yet; cancel it instead."),
    ],
)
def test_refused_steps_say_why(paid_order, before, step, message):
    if before in ("shipped", "delivered"):
        ship_order(paid_order, "UPS", "1Z1")
    if before == "delivered":
        deliver_order(paid_order)
    if before == "cancelled":
        cancel_order(paid_order, "out of print")
    with pytest.raises(FulfilmentError) as refused:
        step(paid_order)
    assert str(refused.value) == message.format(id=paid_order)


def test_an_unpaid_order_cannot_be_packed(app_ctx):
    buyer = make_user()
    order = pending_order(buyer, make_books([{"title": "Emma", "price": "5.00", "stock": 1}]))
    with pytest.raises(FulfilmentError, match=f"Order {order.id} is not paid; it cannot be packed."):
        pack_order(order.id)
    with pytest.raises(FulfilmentError, match="There is no order 999999."):
        ship_order(999999, "UPS", "1")


def test_cancel_refunds_everything_through_the_gateway_and_returns_the_stock(paid_order):
    assert stock_of("Brontë") == 3 and stock_of("Middlemarch") == 4
    assert cancel_order(paid_order, "the warehouse flooded") is True
    order = fresh(Order, paid_order)
    assert order.fulfilment_status == "cancelled"
    assert order.status == OrderStatus.REFUNDED and order.refunded_cents == 3000
    assert stock_of("Brontë") == 5 and stock_of("Middlemarch") == 5
    assert cancel_order(paid_order, "again") is False  # once only: no second refund
    assert fresh(Order, paid_order).refunded_cents == 3000
    assert events(paid_order) == ["paid", "cancelled"]
    cancelled = db.session.scalar(select(EmailMessage).where(EmailMessage.template == "order_cancelled"))
    assert "the warehouse flooded" in cancelled.body_text and "We are refunding $30.00" in cancelled.body_text
    assert emails("order_refunded") == 0  # the cancellation email already said it


def test_refund_lines_after_shipping_pays_back_their_share(paid_order):
    ship_order(paid_order, "UPS", "1Z1")
    bronte = db.session.scalar(
        select(OrderLine).where(OrderLine.order_id == paid_order, OrderLine.title.contains("Brontë"))
    )
    assert refund_lines(paid_order, {bronte.id: 1}) == 950
    order = fresh(Order, paid_order)
    assert order.refunded_cents == 950 and order.status == OrderStatus.PAID
    assert db.session.get(OrderLine, bronte.id).refunded_quantity == 1
    assert events(paid_order) == ["paid", "shipped", "refunded"]
    refunded = db.session.scalar(select(EmailMessage).where(EmailMessage.template == "order_refunded"))
    assert "$9.50" in refunded.body_text and "(1 refunded)" in refunded.body_text
    with pytest.raises(
        FulfilmentError, match=f"Line {bronte.id} of order {paid_order} has 1 copies left to refund, not 2."
    ):
        refund_lines(paid_order, {bronte.id: 2})
    with pytest.raises(FulfilmentError, match=f"Order {paid_order} has no line 424242."):
        refund_lines(paid_order, {424242: 1})


def test_refund_lines_share_includes_discount_and_tax_not_shipping(app_ctx):
    buyer = make_user()
    order = pending_order(buyer, make_books([{"title": "Emma", "price": "10.00", "stock": 3}]))
    line = db.session.scalar(select(OrderLine).where(OrderLine.order_id == order.id))
    line.quantity = 2
    # $20.00 of books, $4.00 off, $5.00 shipping, $1.60 tax: $22.60.
    order.subtotal_cents, order.discount_cents, order.shipping_cents, order.tax_cents = 2000, 400, 500, 160
    order.total_cents = 2000 - 400 + 500 + 160
    db.session.commit()
    pay(order)
    ship_order(order.id, "DHL", "42")
    assert refund_lines(order.id, {line.id: 1}) == (2260 - 500) // 2


def test_the_buyer_sees_the_timeline_with_the_tracking_link(paid_order, client):
    pack_order(paid_order)
    ship_order(paid_order, "UPS", "1Z999")
    login_as(client)
    page = client.get(f"/orders/{paid_order}").get_data(as_text=True)
    assert "<ol>" in page and "Order placed" in page and "Packed" in page
    assert 'Shipped with UPS, tracking number\n      <a href="https://www.ups.com/track?tracknum=1Z999"' in page
    steps = [page.index(f'data-step="{kind}"') for kind in ("placed", "paid", "packed", "shipped")]
    assert steps == sorted(steps)
    listing = client.get("/orders").get_data(as_text=True)
    assert "Shipped" in listing


def test_the_shipped_email_has_the_tracking_link_and_goes_once(paid_order, inbox):
    ship_order(paid_order, "FedEx", "7777")
    ship_order(paid_order, "FedEx", "7777")
    inbox.wait_for("reader@example.com")
    time.sleep(0.5)  # a second email would have arrived by now
    shipped = [m for m in inbox.to("reader@example.com") if "on its way" in m["Subject"]]
    assert len(shipped) == 1
    html = shipped[0].get_body(preferencelist=("html",)).get_content()
    assert 'href="https://www.fedex.com/fedextrack/?trknbr=7777"' in html
    text = shipped[0].get_body(preferencelist=("plain",)).get_content()
    assert "Track your parcel: https://www.fedex.com/fedextrack/?trknbr=7777" in text


def test_two_line_refunds_add_up_through_the_simulated_gateway(paid_order):
    """The gateway reports refunds as Stripe does, the amount refunded so far: the second step counts too."""
    ship_order(paid_order, "UPS", "1Z1")
    lines = db.session.scalars(select(OrderLine).where(OrderLine.order_id == paid_order).order_by(OrderLine.id)).all()
    middlemarch, bronte = sorted(lines, key=lambda line: line.title)
    assert refund_lines(paid_order, {bronte.id: 1}) == 950
    assert refund_lines(paid_order, {middlemarch.id: 1}) == 1100
    assert fresh(Order, paid_order).refunded_cents == 2050
    assert events(paid_order) == ["paid", "shipped", "refunded", "refunded"]


def test_the_order_page_and_receipt_show_discount_shipping_and_tax_only_when_charged(app_ctx, client, inbox):
    buyer = make_user()
    order = pending_order(buyer, make_books([{"title": "Emma", "price": "20.00", "stock": 3}]))
    order.subtotal_cents, order.discount_cents, order.discount_code = 2000, 200, "AUTUMN10"
    order.shipping_cents, order.shipping_method = 450, "Colissimo"
    order.tax_cents, order.tax_label, order.tax_rate_bp = 0, None, None
    order.total_cents = 2000 - 200 + 450
    order.ship_to = {"name": "Rosa Reader", "lines": ["Rosa Reader", "3 Rue Lepic", "75018 Paris", "France"]}
    db.session.commit()
    pay(order)
    text = inbox.wait_for("reader@example.com")[0].get_body(preferencelist=("plain",)).get_content()
    assert "Discount (AUTUMN10): −$2.00" in text and "Shipping (Colissimo): $4.50" in text
    assert "Total: $22.50" in text and "Tax" not in text
    assert "Ships to: Rosa Reader, 3 Rue Lepic, 75018 Paris, France" in text
    login_as(client)
    page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert "Discount (AUTUMN10)" in page and "Shipping (Colissimo)" in page and "Tax" not in page
    assert "3 Rue Lepic<br>75018 Paris" in page
