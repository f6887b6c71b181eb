"""Applying gateway events, exactly once and in any order.

Every event is stored under its gateway event id (unique), in the same transaction as its
effect, so a duplicate changes nothing. Refunds that arrive before the payment they undo are
parked and applied when the payment lands. A payment whose amount or currency is not what was
asked is parked too (never applied; logged and counted for someone to look at). Emails and
follow-up jobs run after the commit.

A refund event carries the cumulative amount refunded so far (Stripe's ``charge.refunded``), and
events may come twice or out of order: each target turns the cumulative amount into the step not
yet recorded, keyed by the event id, so the steps always add up to what was refunded.
"""

from __future__ import annotations

import logging
import re

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import PaymentEvent
from app.observability.metrics import count_mismatch_after_commit
from app.payments.target import TARGETS, AfterCommit, Target

log = logging.getLogger(__name__)

MAX_ID = 2**31 - 1  # our ids are 32-bit integers: anything larger names nothing we have
MAX_CENTS = 2**31 - 1
REFERENCE = re.compile(r"([a-z]+):([0-9]{1,10})")
REFUND_BEFORE_PAYMENT = "refund before its payment"

SESSION_EVENTS = {
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "checkout.session.expired",
}
REFUND_EVENTS = {"charge.refunded"}
# A completed session's ``payment_status`` (the gateway's words) when the money is there.
SESSION_PAID = ("paid", "no_payment_required")


class MalformedEvent(ValueError):
    """An authentic event whose fields are not the types the gateway documents."""


def _target_for_reference(reference: str | None) -> Target | None:
    """The order or donation a reference names; None for anything that names nothing we have."""
    match = REFERENCE.fullmatch(reference) if isinstance(reference, str) else None
    if match is None or int(match[2]) > MAX_ID:
        return None
    cls = TARGETS.get(match[1])
    return cls.find(int(match[2])) if cls else None


def _text(obj: dict, key: str, required: bool = False) -> None:
    value = obj.get(key)
    if value is None and not required:
        return
    if not isinstance(value, str) or not 0 < len(value) <= 255:
        raise MalformedEvent(f"{key} is not an id")


def _cents(obj: dict, key: str) -> None:
    value = obj.get(key)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_CENTS:
        raise MalformedEvent(f"{key} is not an amount in cents")


def check_event(event: dict) -> None:
    """Raise MalformedEvent unless the fields we use have the documented types and sizes."""
    if not isinstance(event, dict):
        raise MalformedEvent("the event is not an object")
    _text(event, "id", required=True)
    data = event.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    if not isinstance(obj, dict):
        raise MalformedEvent("data.object is not an object")
    _text(obj, "payment_intent")
    if event.get("type") in REFUND_EVENTS:
        _cents(obj, "amount_refunded")
        return
    _text(obj, "id")
    _cents(obj, "amount_total")
    for key in ("client_reference_id", "currency", "payment_status"):
        if obj.get(key) is not None and not isinstance(obj[key], str):
            raise MalformedEvent(f"{key} is not text")
    if obj.get("metadata") is not None and not isinstance(obj["metadata"], dict):
        raise MalformedEvent("metadata is not an object")
    for key in ("automatic_tax", "total_details"):
        if obj.get(key) is not None and not isinstance(obj[key], dict):
            raise MalformedEvent(f"{key} is not an object")
    details = obj.get("total_details") or {}
    for key in ("amount_tax", "amount_discount", "amount_shipping"):
        _cents(details, key)


def _target_for_payment_intent(payment_intent_id: str | None) -> Target | None:
    if not payment_intent_id:
        return None
    for cls in TARGETS.values():
        target = cls.find_by_payment_intent(payment_intent_id)
        if target is not None:
            return target
    return None


def target_for_session(session_id: str) -> Target | None:
    """Whatever a checkout session pays for (the simulated payment page needs it)."""
    for cls in TARGETS.values():
        target = cls.find_by_session(session_id)
        if target is not None:
            return target
    return None


def handle_event(gateway: str, event: dict) -> str:
    """Apply one gateway event; returns what happened (for the webhook's answer and the logs).

    Raises MalformedEvent (nothing stored) for an event of a handled type with ill-typed fields.
    """
    event_type = event.get("type", "") if isinstance(event, dict) else ""
    if not isinstance(event_type, str) or event_type not in SESSION_EVENTS | REFUND_EVENTS or not event.get("id"):
        return "ignored"
    check_event(event)
    record = _store_event(gateway, event_type, event)
    if record is None:
        return "duplicate"
    after: AfterCommit = []
    apply = _apply_refund if event_type in REFUND_EVENTS else _apply_session_event
    target, result = apply(record, event["data"]["object"], after)
    if target is not None:
        record.order_id = target.order_id
        record.applied = True
    db.session.commit()
    for action in after:
        action()
    return result


def _store_event(gateway: str, event_type: str, event: dict) -> PaymentEvent | None:
    """Store the event under its id; None when it was stored before (a duplicate delivery)."""
    obj = event["data"]["object"]
    record = PaymentEvent(
        gateway=gateway,
        event_id=str(event["id"]),
        type=event_type,
        payment_intent_id=obj.get("payment_intent"),
        amount_cents=obj.get("amount_refunded") if event_type in REFUND_EVENTS else obj.get("amount_total"),
        payload=event,
    )
    try:
        with db.session.begin_nested():
            db.session.add(record)
    except IntegrityError:
        db.session.rollback()
        return None
    return record


# What applying an event did: the target it applied to, or None when it was stored but not
# applied (parked, or naming nothing we have); and what happened, in words.
Applied = tuple[Target | None, str]


def _apply_refund(record: PaymentEvent, obj: dict, after: AfterCommit) -> Applied:
    target = _target_for_payment_intent(record.payment_intent_id)
    if target is None or not target.is_paid:
        # The payment has not landed yet: park the refund; it is applied when it does.
        record.parked_reason = REFUND_BEFORE_PAYMENT
        return None, "parked"
    return target, target.refunded(obj.get("amount_refunded") or 0, after, record.event_id)


def _apply_session_event(record: PaymentEvent, obj: dict, after: AfterCommit) -> Applied:
    reference = obj.get("client_reference_id") or (obj.get("metadata") or {}).get("reference")
    target = _target_for_reference(reference)
    if target is None:
        after.append(lambda: log.warning("payment event %s names no known reference %r", record.event_id, reference))
        return None, "unknown reference"
    event_type = record.type
    pays = event_type == "checkout.session.async_payment_succeeded" or (
        event_type == "checkout.session.completed" and obj.get("payment_status") in SESSION_PAID
    )
    mismatch = target.mismatch(obj) if pays else None
    if mismatch:
        # Never apply a payment that is not what was asked: park it for someone to look at.
        record.parked_reason = f"amount mismatch: {mismatch}"[:200]
        after.append(lambda: log.error("payment event %s for %s parked: %s", record.event_id, reference, mismatch))
        after.append(count_mismatch_after_commit(target.kind))
        return None, "parked: amount mismatch"
    if event_type == "checkout.session.completed" and not pays:
        return target, target.processing(obj)
    if pays:
        return target, target.paid(obj, after) + apply_parked_refunds(target, after)
    if event_type == "checkout.session.async_payment_failed":
        return target, target.failed(obj, after)
    return target, target.expired(obj)


def apply_parked_refunds(target: Target, after: AfterCommit) -> str:
    """Apply refunds that arrived before this payment (by its PaymentIntent)."""
    if not target.payment_intent_id:
        return ""
    parked = db.session.scalars(
        select(PaymentEvent).where(
            PaymentEvent.payment_intent_id == target.payment_intent_id,
            PaymentEvent.type.in_(REFUND_EVENTS),
            PaymentEvent.applied.is_(False),
        )
    ).all()
    if not parked:
        return ""
    # The amounts are cumulative: the largest says how much is refunded in all.
    largest = max(parked, key=lambda event: (event.amount_cents or 0, event.id))
    for event in parked:
        event.applied = True
        event.parked_reason = None
        event.order_id = target.order_id
    return "; " + target.refunded(largest.amount_cents or 0, after, largest.event_id)
