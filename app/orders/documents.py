"""The PDFs of an order: the buyer's invoice and the staff's packing slips (fpdf2, DejaVu for accents)."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.formatting import money
from app.models import Club, EmailMessage, Order, User

RECEIPT_KEY = "order-receipt:"


def _address(order: Order, fallback: str) -> str:
    if order.ship_to and order.ship_to.get("lines"):
        return "\n".join(order.ship_to["lines"])
    return fallback


def invoice_number(order: Order) -> str:
    return f"INV-{order.paid_at:%Y}-{order.id:06d}"


def invoice_pdf(order: Order) -> bytes:
    """The invoice of a paid order (its lines loaded): seller, buyer, lines, discount, shipping,
    tax per rate and total, as the order snapshotted them."""
    config = current_app.config
    buyer = db.session.get(User, order.user_id) if order.user_id is not None else None
    cur = order.currency
    from app.orders.pdf import Document  # fpdf2 and its font tools cost ~15 MB per worker: load them on first use

    pdf = Document(f"Invoice {invoice_number(order)}")
    pdf.add_page()
    pdf.heading(config["BUSINESS_NAME"])
    pdf.para(config["BUSINESS_ADDRESS"])
    pdf.para(config["BUSINESS_REGISTRATION"])
    pdf.para(config["SUPPORT_EMAIL"])
    pdf.ln(6)
    pdf.heading(f"Invoice {invoice_number(order)}", 14)
    pdf.para(f"Order #{order.id} · invoice date {order.paid_at:%d %B %Y}")
    pdf.ln(4)
    bill_to = buyer.name if buyer is not None else (order.guest_email or "")
    email = order.guest_email or (buyer.email if buyer is not None else "")
    pdf.para("Bill to", bold=True)
    pdf.para("\n".join(part for part in (bill_to, email) if part))
    if order.ship_to:
        pdf.ln(2)
        pdf.para("Ship to", bold=True)
        pdf.para(order.ship_to.get("shown_as") or _address(order, ""))  # a club's address stays private
    pdf.ln(6)
    for line in order.lines:
        pdf.row(
            f"{line.quantity} × {line.title} (ISBN {line.isbn13}) at {money(line.unit_price_cents, cur)}",
            money(line.total_cents, cur),
        )
    pdf.ln(2)
    pdf.row("Subtotal", money(order.lines_cents, cur))
    if order.discount_cents:
        code = f" ({order.discount_code})" if order.discount_code else ""
        pdf.row(f"Discount{code}", "−" + money(order.discount_cents, cur))
    if order.shipping_cents:
        method = f" ({order.shipping_method})" if order.shipping_method else ""
        pdf.row(f"Shipping{method}", money(order.shipping_cents, cur))
    if order.tax_cents or order.tax_rate_bp:
        rate = f" {order.tax_rate_bp / 100:g}%" if order.tax_rate_bp is not None else ""
        included = " (included in prices)" if order.prices_include_tax else ""
        pdf.row(f"{order.tax_label or 'Tax'}{rate}{included}", money(order.tax_cents, cur))
    pdf.row("Total", money(order.total_cents, cur), bold=True)
    if order.refunded_cents:
        pdf.row("Refunded", money(order.refunded_cents, cur))
    return bytes(pdf.output())


def packing_slips_pdf(orders: list[Order]) -> bytes:
    """One page per order (lines loaded): order number, ship-to, lines and quantities, gift note."""
    clubs = {
        club.id: club
        for club in db.session.scalars(select(Club).where(Club.id.in_({o.club_id for o in orders if o.club_id})))
    }
    buyers = {
        user.id: user
        for user in db.session.scalars(select(User).where(User.id.in_({o.user_id for o in orders if o.user_id})))
    }
    from app.orders.pdf import Document  # fpdf2 on first use, as in invoice_pdf

    pdf = Document("Packing slips")
    for order in orders:
        pdf.add_page()
        pdf.heading(f"Order #{order.id}")
        buyer = buyers.get(order.user_id)
        pdf.para("Ship to", bold=True)
        pdf.para(_address(order, buyer.name if buyer is not None else "(no address)"))
        if order.shipping_method:
            pdf.para(order.shipping_method)
        club = clubs.get(order.club_id)
        if club is not None:
            pdf.ln(3)
            pdf.para(f"A gift for {club.name}: these books go onto the club's shelf.", bold=True)
        pdf.ln(6)
        for line in order.lines:
            copies = line.quantity - line.refunded_quantity
            pdf.row(f"{line.title} (ISBN {line.isbn13})", f"× {copies}")
    if not orders:
        pdf.add_page()
        pdf.para("Nothing to pack.")
    return bytes(pdf.output())


def order_with_lines(order_id: int) -> Order | None:
    return db.session.scalar(select(Order).where(Order.id == order_id).options(selectinload(Order.lines)))


def receipt_attachments(message: EmailMessage) -> list[tuple[str, str, bytes]]:
    """The receipt email carries the invoice, built when the email is sent (the order is paid by then)."""
    order_id = message.idempotency_key.removeprefix(RECEIPT_KEY)
    order = order_with_lines(int(order_id)) if order_id.isdigit() else None
    if order is None or order.paid_at is None:
        return []
    return [(f"invoice-{order.id}.pdf", "application/pdf", invoice_pdf(order))]
