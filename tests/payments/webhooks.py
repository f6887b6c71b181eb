"""Stripe as the tests meet it: the settings of an app that pays through a local stub of Stripe's
API (pytest-httpserver), and events posted to the webhook signed exactly as Stripe signs them.

The ``stripe_app`` fixture (tests/conftest.py) builds the app from ``stripe_settings``; the payments,
donations and orders tests all deliver their events with ``deliver``.
"""

from __future__ import annotations

import json
import time

import stripe

STRIPE_KEY = "sk_test_x"
WEBHOOK_SECRET = "whsec_test"
WEBHOOK = "/payments/stripe/webhook"


def stripe_settings(httpserver) -> dict:
    """Settings for an app that pays with Stripe, pointed at the stub, never retrying."""
    return {
        "STRIPE_SECRET_KEY": STRIPE_KEY,
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "STRIPE_API_BASE": httpserver.url_for("").rstrip("/"),
        "STRIPE_MAX_RETRIES": 0,
    }


def stripe_event(event_id: str, event_type: str, obj: dict) -> dict:
    """An event as Stripe sends it, around ``obj`` (a checkout session, a charge...)."""
    return {
        "id": event_id,
        "object": "event",
        "api_version": "2026-10-28.clover",
        "created": int(time.time()),
        "livemode": False,
        "pending_webhooks": 1,
        "type": event_type,
        "data": {"object": obj},
    }


def signature(payload: str, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """The ``Stripe-Signature`` header for ``payload`` (now, unless ``timestamp`` is given)."""
    when = int(time.time()) if timestamp is None else timestamp
    return stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp=when)


def deliver(client, event: dict, *, timestamp: int | None = None, secret: str = WEBHOOK_SECRET):
    """POST ``event`` as Stripe does: the exact signed bytes, with a ``Stripe-Signature`` header."""
    payload = json.dumps(event)
    return client.post(
        WEBHOOK,
        data=payload.encode("utf-8"),
        content_type="application/json",
        headers={"Stripe-Signature": signature(payload, secret=secret, timestamp=timestamp)},
    )
