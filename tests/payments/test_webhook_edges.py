"""Gateway events that name nothing we know, or name it oddly, and session events that arrive late.

Each is acknowledged (the gateway must not retry forever) and changes only what it should.
Found by mutation testing (issue 10).
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Donation, DonationStatus, Order, OrderStatus, PaymentEvent
from app.payments.fulfilment import MalformedEvent, check_event, handle_event
from tests.factories import isbn_for, make_books
from tests.helpers import make_user
from tests.payments.money import fresh, open_club, pending_donation, pending_order, session_event

DONOR = "dan@example.com"


@pytest.fixture
def donation(app_ctx):
    club = open_club()
    return pending_donation(club, make_user(email=DONOR, name="Dan Donor"), 2000)


@pytest.fixture
def order(app_ctx):
    buyer = make_user(email="bea@example.com", name="Bea Buyer")
    books = make_books([{"title": "Late Mail", "isbn": isbn_for(720001), "price": "9.00", "stock": 4}])
    return pending_order(buyer, books)


def status_of(model, row_id):
    return fresh(model, row_id).status


def events_recorded() -> int:
    return db.session.scalar(select(func.count(PaymentEvent.id)))


@pytest.mark.parametrize(
    "reference",
    [None, "", "donation", "donation:abc", "donation:-1", "donation:999999", "gift:1", "donation:1:2"],
    ids=["none", "empty", "no-colon", "non-numeric", "negative", "unknown-donation", "unknown-kind", "two-colons"],
)
def test_a_paid_event_naming_no_known_donation_is_recorded_and_pays_nothing(donation, reference, inbox):
    event = session_event(donation, client_reference_id=reference, metadata={"reference": reference})
    assert handle_event("simulated", event) == "unknown reference"
    assert status_of(Donation, donation.id) == DonationStatus.PENDING
    assert events_recorded() == 1
    assert inbox.messages == []


def test_a_paid_event_with_only_the_metadata_reference_pays(donation, inbox):
    event = session_event(donation, client_reference_id=None)
    assert handle_event("simulated", event) == "donation paid"
    assert status_of(Donation, donation.id) == DonationStatus.PAID


def test_a_paid_event_with_only_the_client_reference_pays(donation):
    event = session_event(donation, metadata=None)
    assert handle_event("simulated", event) == "donation paid"
    assert status_of(Donation, donation.id) == DonationStatus.PAID


def test_the_client_reference_wins_over_the_metadata(app_ctx):
    club = open_club()
    donor = make_user(email=DONOR, name="Dan Donor")
    paid, other = pending_donation(club, donor, 2000), pending_donation(club, donor, 2000)
    event = session_event(paid, metadata={"reference": f"donation:{other.id}"})
    handle_event("simulated", event)
    assert status_of(Donation, paid.id) == DonationStatus.PAID
    assert status_of(Donation, other.id) == DonationStatus.PENDING


def test_no_payment_required_counts_as_paid(donation, inbox):
    assert handle_event("simulated", session_event(donation, payment_status="no_payment_required")) == "donation paid"
    assert status_of(Donation, donation.id) == DonationStatus.PAID
    assert [m["Subject"] for m in inbox.wait_for(DONOR)] == ["Thank you for your donation to Night Owls"]


def test_an_unpaid_completed_session_only_moves_a_pending_payment_to_processing(order):
    assert handle_event("simulated", session_event(order, payment_status="unpaid")) == "processing"
    assert status_of(Order, order.id) == OrderStatus.PROCESSING
    handle_event("simulated", session_event(order, "checkout.session.async_payment_succeeded"))
    assert status_of(Order, order.id) == OrderStatus.PAID


@pytest.mark.parametrize(
    ("closing_event", "closed_status"),
    [
        ("checkout.session.async_payment_failed", OrderStatus.FAILED),
        ("checkout.session.expired", OrderStatus.EXPIRED),
    ],
)
def test_a_late_unpaid_completed_event_does_not_reopen_a_failed_or_expired_order(order, closing_event, closed_status):
    handle_event("simulated", session_event(order, closing_event, payment_status="unpaid"))
    assert status_of(Order, order.id) == closed_status
    handle_event("simulated", session_event(order, payment_status="unpaid"))
    assert status_of(Order, order.id) == closed_status


def test_an_old_sessions_unpaid_completed_event_does_not_touch_the_new_attempt(order):
    old = session_event(order, payment_status="unpaid")
    fresh_order = fresh(Order, order.id)
    fresh_order.checkout_session_id, fresh_order.checkout_attempt = "cs_second_attempt", 2
    db.session.commit()
    assert handle_event("simulated", old) == "unchanged"
    assert status_of(Order, order.id) == OrderStatus.PENDING


@pytest.mark.parametrize(
    "event",
    [
        {"type": "checkout.session.completed", "data": {"object": {}}},  # no id
        {"id": "evt_x", "type": "customer.created", "data": {"object": {}}},
    ],
    ids=["no-id", "other-type"],
)
def test_events_we_do_not_handle_are_ignored_and_not_recorded(app_ctx, event):
    assert handle_event("simulated", event) == "ignored"
    assert events_recorded() == 0


def test_an_event_without_data_is_refused_and_not_recorded(app_ctx):
    with pytest.raises(MalformedEvent):
        handle_event("simulated", {"id": "evt_z", "type": "checkout.session.expired", "data": None})
    db.session.rollback()
    assert events_recorded() == 0


def test_a_refund_before_its_payment_is_parked_with_its_reason_and_applied_when_the_payment_lands(order):
    from tests.payments.money import pay, refund_event

    early = refund_event("pi_early", [400], order.total_cents)
    assert handle_event("simulated", early) == "parked"
    parked = db.session.scalar(select(PaymentEvent).where(PaymentEvent.event_id == early["id"]))
    assert (parked.applied, parked.parked_reason, parked.order_id) == (False, "refund before its payment", None)

    assert pay(order, payment_intent="pi_early") == "paid; refunded"
    parked = fresh(PaymentEvent, parked.id)
    assert (parked.applied, parked.parked_reason, parked.order_id) == (True, None, order.id)
    assert fresh(Order, order.id).refunded_cents == 400


def test_a_refund_report_without_an_amount_refunds_nothing(order):
    from tests.payments.money import pay, refund_event

    pay(order, payment_intent="pi_no_amount")
    report = refund_event("pi_no_amount", [], order.total_cents)
    del report["data"]["object"]["amount_refunded"]
    assert handle_event("simulated", report) == "refund already recorded"
    now = fresh(Order, order.id)
    assert (now.status, now.refunded_cents) == (OrderStatus.PAID, 0)


def test_a_parked_refund_report_without_an_amount_refunds_nothing_when_the_payment_lands(order):
    from tests.payments.money import pay, refund_event

    report = refund_event("pi_parked_no_amount", [], order.total_cents)
    del report["data"]["object"]["amount_refunded"]
    assert handle_event("simulated", report) == "parked"
    assert pay(order, payment_intent="pi_parked_no_amount") == "paid; refund already recorded"
    now = fresh(Order, order.id)
    assert (now.status, now.refunded_cents) == (OrderStatus.PAID, 0)


def _session(**changes) -> dict:
    obj = {"id": "cs_x", "object": "checkout.session", "payment_intent": "pi_x", "amount_total": 900}
    obj.update(changes)
    return {"id": "evt_x", "type": "checkout.session.completed", "data": {"object": obj}}


def _refund(**changes) -> dict:
    obj = {"id": "ch_x", "object": "charge", "payment_intent": "pi_x", "amount_refunded": 900}
    obj.update(changes)
    return {"id": "evt_x", "type": "charge.refunded", "data": {"object": obj}}


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (["not", "an", "object"], "the event is not an object"),
        ({**_session(), "id": None}, "id is not an id"),
        ({**_session(), "id": ""}, "id is not an id"),
        ({**_session(), "id": "e" * 256}, "id is not an id"),
        ({**_session(), "data": {"object": []}}, "data.object is not an object"),
        (_session(id=7), "id is not an id"),
        (_session(payment_intent=""), "payment_intent is not an id"),
        (_session(amount_total=-1), "amount_total is not an amount in cents"),
        (_session(amount_total=True), "amount_total is not an amount in cents"),
        (_session(amount_total=2**31), "amount_total is not an amount in cents"),
        (_session(client_reference_id=5), "client_reference_id is not text"),
        (_session(currency=["usd"]), "currency is not text"),
        (_session(payment_status=1), "payment_status is not text"),
        (_session(metadata="reference"), "metadata is not an object"),
        (_refund(amount_refunded="abc"), "amount_refunded is not an amount in cents"),
        (_refund(payment_intent=12), "payment_intent is not an id"),
    ],
)
def test_a_malformed_event_is_refused_naming_the_field(app_ctx, event, message):
    with pytest.raises(MalformedEvent) as refused:
        check_event(event)
    assert str(refused.value) == message  # what the webhook's log line says
    if isinstance(event, dict) and event.get("id"):  # the webhook stores nothing of it either
        with pytest.raises(MalformedEvent):
            handle_event("simulated", event)
        db.session.rollback()
        assert events_recorded() == 0


@pytest.mark.parametrize(
    "event",
    [
        {**_session(client_reference_id="order:1"), "id": "e"},  # the shortest and the longest ids pass
        {**_session(client_reference_id="order:1"), "id": "e" * 255},
        _session(id="c" * 255, amount_total=2**31 - 1, client_reference_id="order:1", metadata={"reference": "x"}),
        _session(amount_total=0, currency="usd", payment_status="paid", client_reference_id="order:1"),
        _refund(amount_refunded=2**31 - 1),
    ],
)
def test_well_formed_events_at_the_limits_are_taken(app_ctx, event):
    assert handle_event("simulated", event) in ("unknown reference", "parked")
    [stored] = db.session.scalars(select(PaymentEvent)).all()
    obj = event["data"]["object"]
    assert stored.amount_cents == obj.get("amount_refunded", obj.get("amount_total"))  # what the event moved


def test_what_is_not_an_event_is_ignored(app_ctx):
    assert handle_event("simulated", ["not", "an", "event"]) == "ignored"
    assert handle_event("simulated", {"id": "evt_no_type", "data": {"object": {}}}) == "ignored"
    assert events_recorded() == 0


def test_an_applied_event_names_its_order(order):
    from tests.payments.money import pay

    assert pay(order) == "paid"
    [stored] = db.session.scalars(select(PaymentEvent)).all()
    assert (stored.applied, stored.order_id, stored.amount_cents) == (True, order.id, order.total_cents)


def test_a_mismatched_payment_and_an_unknown_reference_are_logged_for_the_operator(order, caplog):
    wrong = session_event(order, amount_total=1)
    assert handle_event("simulated", wrong) == "parked: amount mismatch"
    unknown = _session(client_reference_id="order:999999")
    assert handle_event("simulated", unknown) == "unknown reference"

    logged = [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "app.payments.fulfilment"]
    expected = f"paid 1 usd, expected {order.total_cents} usd"
    assert logged == [
        ("ERROR", f"payment event {wrong['id']} for order:{order.id} parked: {expected}"),
        ("WARNING", "payment event evt_x names no known reference 'order:999999'"),
    ]
    parked = db.session.scalar(select(PaymentEvent).where(PaymentEvent.event_id == wrong["id"]))
    assert parked.parked_reason == f"amount mismatch: {expected}"
    assert status_of(Order, order.id) == OrderStatus.PENDING
