"""Job functions for the fault tests (importable by a worker in another process)."""

from __future__ import annotations

import time

from flask import current_app

from app.jobs import redis_connection
from app.notifications import email

IN_FLIGHT_KEY = "test:faults:in-flight"


def deliver_email_slowly(email_id: int, pause: float) -> str:
    """``deliver_email``, but on the first attempt it stops for ``pause`` seconds after claiming the
    email and before sending it: the window in which the fault test kills the worker."""
    transmit = email._transmit

    def slow_transmit(message) -> None:
        if message.attempts == 1:
            redis_connection(current_app).set(IN_FLIGHT_KEY, email_id)
            time.sleep(pause)
        transmit(message)

    email._transmit = slow_transmit
    try:
        return email.deliver_email(email_id)
    finally:
        email._transmit = transmit
