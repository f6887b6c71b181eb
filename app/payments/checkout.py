"""The checkout steps orders and donations share: attempts, and the gateway session they open.

An order or a donation (a ``Payable``) has status, checkout_attempt, checkout_session_id and
checkout_url. The idempotency key names the payable and its attempt: retrying after an error or a
timeout reuses it (the gateway returns the same session); a new attempt only follows a failure or
an expiry.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import url_for
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models.payable import Payable, PaymentStatus
from app.payments.gateway import CheckoutRequest, Gateway, LineItem

P = TypeVar("P", bound=Payable)


def insert_once(payable: P, resent: Callable[[], P | None], also: Callable[[P], None] | None = None) -> P:
    """Add and commit a new ``payable``; if a concurrent send of the same form won the insert
    (its unique idempotency key), ``resent()`` finds that one and it is returned instead.

    ``resent`` returns None when there is no key or no first send: the IntegrityError is raised.
    ``also(payable)`` runs in the same transaction, after the insert (an order's discount use); if
    it raises, nothing is saved.
    """
    db.session.add(payable)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        first = resent()
        if first is None:
            raise
        return first
    try:
        if also is not None:
            also(payable)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return payable


def start_new_attempt_if_closed(payable: Payable) -> None:
    """After a failed or expired payment, the next try is a new attempt with a new session."""
    if payable.status in (PaymentStatus.FAILED, PaymentStatus.EXPIRED):
        payable.status = PaymentStatus.PENDING
        payable.checkout_attempt += 1
        payable.checkout_session_id = None
        payable.checkout_url = None
        db.session.commit()


def ready_to_pay(payable: Payable, kind: str, refused: type[Exception]) -> None:
    """Before a payable of ``kind`` goes to the gateway: a failed or expired one starts a new
    attempt; one that is then not pending has nothing to pay, and ``refused`` (the domain's error)
    says so."""
    start_new_attempt_if_closed(payable)
    if payable.status != PaymentStatus.PENDING:
        raise refused(f"This {kind} is {payable.status_label.lower()}; there is nothing to pay.")


def open_session(payable: Payable, gateway: Gateway, request: CheckoutRequest) -> str:
    """The gateway's payment page for ``payable``, remembered so a retry goes to the same page.

    Raises GatewayError, leaving the payable pending.
    """
    if payable.checkout_url:
        return payable.checkout_url
    session = gateway.create_checkout(request)
    payable.gateway = gateway.name
    payable.checkout_session_id = session.id
    payable.checkout_url = session.url
    db.session.commit()
    return session.url


def checkout_request(
    payable: Payable, kind: str, endpoint: str, *, line_items: list[LineItem], customer_email: str, **metadata: str
) -> CheckoutRequest:
    """What the gateway is asked for a payable of ``kind`` ("order" or "donation"): the reference
    payment events name it by, the idempotency key of this attempt, and the way back to its page
    (``endpoint``, with ``<kind>_id``). ``metadata`` adds to the ``<kind>_id`` sent along."""
    payable_id = {f"{kind}_id": payable.id}
    return CheckoutRequest(
        reference=f"{kind}:{payable.id}",
        line_items=line_items,
        customer_email=customer_email,
        **return_urls(endpoint, **payable_id),
        idempotency_key=f"{kind}-{payable.id}-attempt-{payable.checkout_attempt}",
        currency=payable.currency,
        metadata={f"{kind}_id": str(payable.id), **metadata},
    )


def return_urls(endpoint: str, **args) -> dict[str, str]:
    """Where the gateway sends the payer back: the payable's page, after paying or cancelling.

    Returns ``success_url`` and ``cancel_url`` for a CheckoutRequest. The gateway fills in
    ``{CHECKOUT_SESSION_ID}``; ``cancelled=1`` lets the page say the payment was cancelled.
    """
    return {
        "success_url": url_for(endpoint, **args, _external=True) + "?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": url_for(endpoint, **args, cancelled=1, _external=True),
    }
