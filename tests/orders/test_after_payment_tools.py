"""After payment, as staff and buyers use it: the CLI, packing slips, the invoice PDF, the API, the
migration of existing orders, and one shipment under concurrent calls (PostgreSQL)."""

import io
import re
from pathlib import Path

import pytest
from flask_migrate import downgrade, upgrade
from pypdf import PdfReader
from sqlalchemy import func, select

from app.extensions import db
from app.models import Club, EmailMessage, Order, OrderEvent, OrderLine, OrderStatus
from app.orders.shipping import pack_order, ship_order
from tests.api import API, api_login, assert_shape, bearer, problem_of
from tests.concurrency import all_at_once
from tests.conftest import database_is_postgres, need
from tests.factories import make_books
from tests.helpers import login_as, logout, make_user
from tests.payments.money import fresh, open_club, pay, pending_order

MIGRATIONS = str(Path(__file__).resolve().parent.parent.parent / "migrations")
BEFORE_FULFILMENT = "c3e8f1a2b9d4"


def run(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def paid_for(buyer, titles: list[str], club: Club | None = None) -> int:
    books = make_books([{"title": title, "price": "12.00", "stock": 3} for title in titles])
    order = pending_order(buyer, books, club)
    order.ship_to = {
        "name": buyer.name,
        "lines": [buyer.name, "12 Rue des Lilas", "75011 Paris", "France"],
        "country": "FR",
        "country_name": "France",
    }
    db.session.commit()
    assert pay(order) == "paid"
    return order.id


@pytest.fixture
def two_paid(app_ctx):
    buyer = make_user()
    first = paid_for(buyer, ["Jane Eyre by Charlotte Brontë"])
    second = paid_for(buyer, ["Les Misérables", "Middlemarch"])
    return first, second


def test_queue_lists_what_to_pack_oldest_first(app, two_paid):
    first, second = two_paid
    result = run(app, "orders", "queue")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith(f"#{first} ") and lines[1].startswith(f"#{second} ")
    assert "reader@example.com  2 item(s)  France" in lines[1]
    assert lines[-1] == "2 order(s) awaiting packing."


def test_pack_ship_deliver_from_the_cli(app, two_paid):
    first, second = two_paid
    assert run(app, "orders", "pack", str(first), str(second)).output == (
        f"Order #{first} packed.\nOrder #{second} packed.\n"
    )
    shipped = run(app, "orders", "ship", str(first), "--carrier", "UPS", "--tracking", "1Z999")
    assert shipped.exit_code == 0
    assert shipped.output == f"Order #{first} shipped with UPS (https://www.ups.com/track?tracknum=1Z999).\n"
    assert run(app, "orders", "deliver", str(first)).output == f"Order #{first} delivered.\n"
    assert "Fulfilment: Delivered · UPS 1Z999" in run(app, "orders", "show", str(first)).output
    assert run(app, "orders", "queue", "--status", "packed").output.splitlines()[-1] == "1 order(s) packed."


def test_cancel_and_refund_lines_from_the_cli(app, two_paid):
    first, second = two_paid
    cancelled = run(app, "orders", "cancel", str(first), "--reason", "damaged copy")
    assert cancelled.exit_code == 0
    assert cancelled.output == f"Order #{first} cancelled; refund requested; status now: Refunded.\n"
    run(app, "orders", "ship", str(second), "--carrier", "DHL", "--tracking", "42")
    line_id = db.session.scalar(select(func.min(OrderLine.id)).where(OrderLine.order_id == second))
    refunded = run(app, "orders", "refund", str(second), "--line", f"{line_id}:1")
    assert refunded.exit_code == 0 and refunded.output == f"Refund of $12.00 requested for order #{second}.\n"
    assert fresh(Order, second).refunded_cents == 1200


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ship", "{first}", "--carrier", "UPS"], "Missing option '--tracking'"),
        (["ship", "{first}", "--carrier", "UPS", "--tracking", "1", "--url", "javascript:x"], "--url must start"),
        (["cancel", "{first}"], "Missing option '--reason'"),
        (["cancel", "{first}", "--reason", "  "], "Give the reason for the cancellation."),
        (["deliver", "{first}"], "Order {first} is already awaiting packing; it can no longer be delivered."),
        (["pack", "99999"], "There is no order 99999."),
        (["pack", "99999999999"], "99999999999"),
        (["pack", "abc"], "'abc' is not a valid integer"),
        (["refund", "{first}", "--line", "12"], "Give each line as LINE_ID:QUANTITY"),
        (["refund", "{first}", "--line", "1:1"], "Order {first} has not shipped yet; cancel it instead."),
        (["queue", "--status", "lost"], "'lost' is not one of"),
        (["slips"], "Missing option '--out'"),
    ],
)
def test_bad_input_exits_1_with_one_line(app, two_paid, args, message):
    first, _ = two_paid
    result = run(app, "orders", *[arg.format(first=first) for arg in args])
    assert result.exit_code == 1, result.output
    # One line says what is wrong (click adds its usage lines above an argument's error).
    errors = [line for line in result.output.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1 and message.format(first=first) in errors[0], result.output


def test_packing_slips_are_one_pdf_a_page_per_order(app, app_ctx, tmp_path):
    buyer = make_user()
    club = open_club()
    first = paid_for(buyer, ["Jane Eyre by Charlotte Brontë"])
    gift = paid_for(buyer, ["Les Misérables"], club=club)
    out = tmp_path / "slips.pdf"
    result = run(app, "orders", "slips", "--status", "paid", "--out", str(out))
    assert result.exit_code == 0 and result.output == f"2 packing slip(s) written to {out}.\n"
    reader = PdfReader(out)
    assert len(reader.pages) == 2
    one, two = (page.extract_text() for page in reader.pages)
    assert f"Order #{first}" in one and "Charlotte Brontë" in one and "12 Rue des Lilas" in one
    assert f"Order #{gift}" in two and "Les Misérables" in two and "A gift for Night Owls" in two


def test_the_buyer_downloads_the_invoice_of_a_paid_order(app, client, two_paid):
    first, _ = two_paid
    login_as(client)
    response = client.get(f"/orders/{first}/invoice.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = pdf_text(response.data)
    assert f"Order #{first}" in text and app.config["BUSINESS_NAME"] in text
    assert re.search(r"Total\s*\$12\.00", text) and "Jane Eyre by Charlotte Brontë" in text
    assert b"invoice.pdf" in client.get(f"/orders/{first}").data


def test_the_invoice_is_only_for_its_buyer_and_only_once_paid(app, client, app_ctx):
    owner = make_user()
    paid = paid_for(owner, ["Emma"])
    unpaid = pending_order(owner, make_books([{"title": "Persuasion", "price": "5.00", "stock": 1}])).id
    make_user(email="other@example.com", name="Otto Other")
    login_as(client, "other@example.com")
    assert client.get(f"/orders/{paid}/invoice.pdf").status_code == 404
    logout(client)
    login_as(client)
    assert client.get(f"/orders/{unpaid}/invoice.pdf").status_code == 404
    assert client.get(f"/orders/{paid}/invoice.pdf").status_code == 200


def test_the_receipt_email_carries_the_invoice(app_ctx, inbox):
    buyer = make_user()
    order_id = paid_for(buyer, ["Villette by Charlotte Brontë"])
    receipt = inbox.wait_for("reader@example.com")[0]
    assert receipt["Subject"] == f"Your Book Commerce receipt for order #{order_id}"
    attachments = list(receipt.iter_attachments())
    assert [a.get_filename() for a in attachments] == [f"invoice-{order_id}.pdf"]
    text = pdf_text(attachments[0].get_content())
    assert f"Order #{order_id}" in text and "Villette by Charlotte Brontë" in text


def test_the_api_order_has_its_timeline_and_invoice(app, client, app_ctx):
    buyer = make_user()
    order_id = paid_for(buyer, ["Emma"])
    pack_order(order_id)
    ship_order(order_id, "La Poste", "6A123")
    token = api_login(client)
    response = client.get(f"{API}/me/orders/{order_id}", headers=bearer(token))
    assert response.status_code == 200
    body = response.get_json()
    assert_shape(body, "OrderDetail")
    assert body["fulfilment_status"] == "shipped" and body["carrier"] == "La Poste"
    assert [step["kind"] for step in body["timeline"]] == ["placed", "paid", "packed", "shipped"]
    assert body["timeline"][-1]["detail"]["tracking_url"].endswith("code=6A123")
    assert body["invoice_url"] == f"http://localhost/orders/{order_id}/invoice.pdf"
    assert body["ship_to"]["country_name"] == "France" and body["shipping_cents"] == 0
    other = pending_order(make_user(email="other@example.com"), make_books([{"title": "Dune", "price": "5.00"}]))
    problem_of(client.get(f"{API}/me/orders/{other.id}", headers=bearer(token)), 404)


def test_existing_paid_orders_migrate_to_awaiting_packing(app, app_ctx):
    buyer = make_user()
    paid = paid_for(buyer, ["Emma", "Persuasion"])
    waiting = pending_order(buyer, make_books([{"title": "Dune", "price": "5.00", "stock": 1}])).id
    db.session.execute(OrderEvent.__table__.delete())
    db.session.commit()
    db.session.remove()
    downgrade(directory=MIGRATIONS, revision=BEFORE_FULFILMENT)
    try:
        upgrade(directory=MIGRATIONS)
    finally:
        upgrade(directory=MIGRATIONS)  # whatever happened, the next tests find the schema at head
    order = db.session.get(Order, paid)
    assert order.status == OrderStatus.PAID and order.fulfilment_status == "awaiting_packing"
    assert order.total_cents == order.subtotal_cents == 2400 and order.shipping_cents == 0
    assert [e.kind for e in db.session.scalars(select(OrderEvent).where(OrderEvent.order_id == paid))] == ["paid"]
    assert db.session.get(Order, waiting).fulfilment_status == "awaiting_payment"
    assert db.session.get(Order, waiting).subtotal_cents == 500


def test_concurrent_ship_calls_ship_once(app, busy_app, inbox):
    need("PostgreSQL", database_is_postgres(app), "row locking under concurrency is shown on PostgreSQL")
    callers = 8
    busy = busy_app(callers + 2)
    with busy.app_context():
        order_id = paid_for(make_user(), ["Emma"])

    def ship(start):
        start()
        return ship_order(order_id, "UPS", "1Z999")

    results, errors = all_at_once(busy, [ship] * callers)
    assert errors == []
    assert sorted(results) == [False] * (callers - 1) + [True]
    with busy.app_context():
        shipped = select(func.count(OrderEvent.id)).where(OrderEvent.order_id == order_id, OrderEvent.kind == "shipped")
        assert db.session.scalar(shipped) == 1
        emails = select(func.count(EmailMessage.id)).where(EmailMessage.template == "order_shipped")
        assert db.session.scalar(emails) == 1
