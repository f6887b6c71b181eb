"""Money in a few calls: a pending donation or order with its checkout session, and the gateway
events that pay or refund it, shaped as Stripe sends them (amount, currency, refund ids).

Events go through ``handle_event``, the code behind both the Stripe webhook and the simulated
payment page. Each helper commits, as a request would; callers read results back from the database.
"""

from __future__ import annotations

import itertools

from flask import current_app
from sqlalchemy import func, select

from app.clubs.services import create_club
from app.donations.fund import fund_balance
from app.donations.services import create_donation, start_donation_checkout
from app.extensions import db
from app.models import Club, Donation, FundEntry, Order, OrderLine, OrderStatus, User
from app.payments.fulfilment import handle_event
from tests.helpers import make_user
from tests.shop import ready_to_receive

_ids = itertools.count(1)


def next_id(prefix: str) -> str:
    return f"{prefix}_{next(_ids):06d}"


def open_club(owner_email="owner@example.com", name="Night Owls") -> Club:
    owner = make_user(email=owner_email, name="Olga Owner")
    club = create_club(owner, name=name, city="Lisbon", country="Portugal", visibility="public")
    ready_to_receive(club)  # gifts and fund purchases ship to its delivery address
    return club


def pending_donation(club: Club, donor: User, cents: int, anonymous=False) -> Donation:
    """The donor gave ``cents`` and was sent to the payment page (checkout session opened)."""
    donation = create_donation(club, donor, cents, anonymous=anonymous)
    with current_app.test_request_context():
        start_donation_checkout(donation, donor)
    return donation


def pending_order(buyer: User, books: list, club: Club | None = None) -> Order:
    """A pending order for one copy of each book, with a checkout session."""
    order = Order(
        user_id=buyer.id,
        club_id=club.id if club else None,
        gateway="simulated",
        status=OrderStatus.PENDING,
        total_cents=sum(b.price_cents for b in books),
        checkout_session_id=next_id("cs_test"),
    )
    order.lines = [
        OrderLine(book_id=b.id, title=b.title, isbn13=b.isbn13, unit_price_cents=b.price_cents, quantity=1)
        for b in books
    ]
    db.session.add(order)
    db.session.commit()
    return order


def reference_of(payable) -> str:
    return f"{'donation' if isinstance(payable, Donation) else 'order'}:{payable.id}"


def amount_of(payable) -> int:
    return payable.amount_cents if isinstance(payable, Donation) else payable.total_cents


def session_event(
    payable, event_type="checkout.session.completed", *, payment_status="paid", payment_intent=None, **changes
) -> dict:
    """A Checkout Session event for ``payable``'s current session; ``changes`` edit the session."""
    obj = {
        "id": payable.checkout_session_id,
        "object": "checkout.session",
        "status": "complete" if payment_status != "unpaid" else "open",
        "payment_status": payment_status,
        "client_reference_id": reference_of(payable),
        "metadata": {"reference": reference_of(payable)},
        "payment_intent": payment_intent or f"pi_{reference_of(payable).replace(':', '_')}",
        "amount_total": amount_of(payable),
        "currency": payable.currency,
    }
    obj.update(changes)
    return {"id": next_id("evt"), "type": event_type, "data": {"object": obj}}


def refund_event(payment_intent: str, refunded_steps: list[int], amount: int, currency="usd") -> dict:
    """``charge.refunded`` after refunds of ``refunded_steps`` cents (Stripe's amount_refunded is the sum)."""
    refunds = [{"id": next_id("re"), "object": "refund", "amount": step} for step in refunded_steps]
    return {
        "id": next_id("evt"),
        "type": "charge.refunded",
        "data": {
            "object": {
                "id": "ch_" + payment_intent,
                "object": "charge",
                "payment_intent": payment_intent,
                "amount": amount,
                "amount_refunded": sum(refunded_steps),
                "currency": currency,
                "refunded": sum(refunded_steps) >= amount,
                "refunds": {"object": "list", "data": list(reversed(refunds))},
            }
        },
    }


def pay(payable, payment_intent=None, **changes) -> str:
    return handle_event("simulated", session_event(payable, payment_intent=payment_intent, **changes))


def payment_intent_of(payable) -> str:
    db.session.refresh(payable)
    return payable.payment_intent_id


def refund(payable, *steps: int) -> str:
    """The gateway reports refunds of ``steps`` cents so far (cumulative, as Stripe does)."""
    return handle_event("simulated", refund_event(payment_intent_of(payable), list(steps), amount_of(payable)))


def reversed_cents(donation_id: int) -> int:
    """What the ledger gave back for a donation (a positive number)."""
    return -db.session.scalar(
        select(func.coalesce(func.sum(FundEntry.amount_cents), 0)).where(
            FundEntry.donation_id == donation_id, FundEntry.kind == FundEntry.REVERSAL
        )
    )


def fresh(model, row_id):
    db.session.expire_all()
    return db.session.get(model, row_id)


def balance(club_id: int) -> int:
    db.session.expire_all()
    return fund_balance(club_id)
