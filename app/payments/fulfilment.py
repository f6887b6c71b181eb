"""Applying gateway events, exactly once and in any order.

Every event is stored under its gateway event id (unique), in the same transaction as its
effect, so a duplicate changes nothing. Refunds that arrive before the payment they undo are
parked and applied when the payment lands. Emails and follow-up jobs run after the commit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import PaymentEvent

log = logging.getLogger(__name__)

SESSION_EVENTS = {
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "checkout.session.expired",
}
REFUND_EVENTS = {"charge.refunded"}

# Things to do once the transaction has committed (send emails, enqueue refunds).
AfterCommit = list[Callable[[], Any]]


class Target:
    """What a payment reference names (an order; donations come later). Subclasses apply events."""

    kind = ""

    @classmethod
    def find(cls, ref_id: int) -> Target | None: ...

    @classmethod
    def find_by_payment_intent(cls, payment_intent_id: str) -> Target | None: ...

    @classmethod
    def find_by_session(cls, session_id: str) -> Target | None: ...

    # reference, title, amount_cents, currency, user_id, endpoint: (name, args) of its page
    summary: dict

    def paid(self, session: dict, after: AfterCommit) -> str: ...

    # The order or donation being paid: both have status, checkout_session_id and the same
    # status names ("pending", "processing", "expired", ...).
    @property
    def payable(self): ...

    def is_current_session(self, session: dict) -> bool:
        """Events about an older checkout session (a retried payment) do not move the payable."""
        return session.get("id") == self.payable.checkout_session_id

    def processing(self, session: dict) -> str:
        if self.payable.status == "pending" and self.is_current_session(session):
            self.payable.status = "processing"
            return "processing"
        return "unchanged"

    def is_open_for(self, session: dict) -> bool:
        return self.payable.status in ("pending", "processing") and self.is_current_session(session)

    def failed(self, session: dict, after: AfterCommit) -> str: ...

    def expired(self, session: dict) -> str:
        if not self.is_open_for(session):
            return "unchanged"
        self.payable.status = "expired"
        return "expired"

    def refunded(self, amount_refunded: int, after: AfterCommit) -> str: ...


TARGETS: dict[str, type[Target]] = {}


def register_target(cls: type[Target]) -> type[Target]:
    TARGETS[cls.kind] = cls
    return cls


def _target_for_reference(reference: str | None) -> Target | None:
    if not reference or ":" not in reference:
        return None
    kind, _, ref_id = reference.partition(":")
    cls = TARGETS.get(kind)
    return cls.find(int(ref_id)) if cls and ref_id.isdigit() else None


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
    """Apply one gateway event; returns what happened (for the webhook's answer and the logs)."""
    event_type = event.get("type", "")
    obj = (event.get("data") or {}).get("object") or {}
    if event_type not in SESSION_EVENTS | REFUND_EVENTS or not event.get("id"):
        return "ignored"
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
        return "duplicate"

    after: AfterCommit = []
    if event_type in REFUND_EVENTS:
        target = _target_for_payment_intent(record.payment_intent_id)
        if target is None or not target.is_paid:
            # The payment has not landed yet: park the refund; it is applied when it does.
            db.session.commit()
            return "parked"
        result = target.refunded(int(obj.get("amount_refunded") or 0), after)
    else:
        reference = obj.get("client_reference_id") or (obj.get("metadata") or {}).get("reference")
        target = _target_for_reference(reference)
        if target is None:
            db.session.commit()
            log.warning("payment event %s names no known reference %r", record.event_id, reference)
            return "unknown reference"
        if event_type == "checkout.session.completed" and obj.get("payment_status") not in (
            "paid",
            "no_payment_required",
        ):
            result = target.processing(obj)
        elif event_type in ("checkout.session.completed", "checkout.session.async_payment_succeeded"):
            result = target.paid(obj, after)
            result += apply_parked_refunds(target, after)
        elif event_type == "checkout.session.async_payment_failed":
            result = target.failed(obj, after)
        else:
            result = target.expired(obj)
    record.order_id = getattr(target, "order_id", None)
    record.applied = True
    db.session.commit()
    for action in after:
        action()
    return result


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
    amount = max(event.amount_cents or 0 for event in parked)
    for event in parked:
        event.applied = True
        event.order_id = getattr(target, "order_id", None)
    return "; " + target.refunded(amount, after)
