"""Circuit breakers around what leaves the app: the payment gateway, the SMTP server, Redis.

After ``BREAKER_<NAME>_FAIL_MAX`` failures or timeouts in a row a breaker opens: calls through it
fail at once with ``BreakerOpen`` (pybreaker's ``CircuitBreakerError``) for
``BREAKER_<NAME>_RESET_SECONDS``; then one trial call goes through (the others are still refused
while it runs), which closes the breaker when it succeeds and opens it again when it fails. A
breaker never replaces the error of a call it made (``throw_new_error_on_trip=False``):
``BreakerOpen`` always means "not even tried".

With REDIS_URL the state of "payments" and "smtp" lives in Redis (pybreaker's
``CircuitRedisStorage``, keys under ``bookcommerce:breaker:<name>``), so every web and mail
worker sees the same breaker. The "redis" breaker keeps its state in the process: a Redis that
does not answer cannot also hold the record that it does not answer.

pybreaker holds a lock for the whole guarded call, so one breaker object per process would queue
a gunicorn worker's threads behind one hung call. Each thread therefore has its own breaker
objects over the shared state.
"""

from __future__ import annotations

import contextlib
import logging
import smtplib
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from datetime import UTC, datetime
from typing import TypeVar

import pybreaker
import redis
from flask import Flask, current_app

log = logging.getLogger(__name__)

NAMES = ("payments", "smtp", "redis")
SHARED = {"payments", "smtp"}  # their state is in Redis when REDIS_URL is set
NAMESPACE = "bookcommerce:breaker"
EXTENSION = "breakers"

BreakerOpen = pybreaker.CircuitBreakerError
T = TypeVar("T")


def _stripe_refused_the_request(exc: BaseException) -> bool:
    """A 4xx from Stripe (but 429) is about our request, not Stripe's health."""
    status = getattr(exc, "http_status", None)
    return status is not None and 400 <= status < 500 and status != 429


def _smtp_refused_one_message(exc: BaseException) -> bool:
    """An SMTP reply about one message (a refused recipient, a 451) means the server is answering;
    421 is the server closing the connection."""
    refused = isinstance(exc, smtplib.SMTPRecipientsRefused | smtplib.SMTPResponseException)
    return refused and getattr(exc, "smtp_code", None) != 421


def _not_a_redis_error(exc: BaseException) -> bool:
    return not isinstance(exc, redis.RedisError)


# Errors that do not count against the dependency (the call reached it and it answered).
EXCLUDE: dict[str, list[Callable[[BaseException], bool]]] = {
    "payments": [_stripe_refused_the_request],
    "smtp": [_smtp_refused_one_message],
    "redis": [_not_a_redis_error],
}


class _SharedStorage(pybreaker.CircuitRedisStorage):
    """pybreaker's Redis storage, except that a Redis down when it starts (or when it is flushed)
    does not raise: the state then reads as closed until Redis answers."""

    def _initialize_redis_state(self, state: str) -> None:
        try:
            super()._initialize_redis_state(state)
        except redis.RedisError as exc:
            log.warning("circuit breaker %s: state not initialised in Redis (%s)", self._namespace_name, exc)

    # When the breaker opened, kept to the microsecond: pybreaker keeps whole seconds, which ended a
    # cool-down up to a second early (a 0.5 s cool-down could be over as the breaker opened).
    @property
    def opened_at(self) -> datetime | None:
        try:
            value = self._redis.get(self._namespace("opened_at"))
        except redis.RedisError as exc:
            log.warning("circuit breaker %s: opening time unreadable (%s)", self._namespace_name, exc)
            return None
        return datetime.fromtimestamp(float(value), UTC) if value else None

    @opened_at.setter
    def opened_at(self, now: datetime) -> None:
        key = self._namespace("opened_at")
        stamp = (now if now.tzinfo else now.replace(tzinfo=UTC)).timestamp()

        def set_if_later(pipe) -> None:  # noqa: ANN001 - a redis-py pipeline
            current = pipe.get(key)
            pipe.multi()
            if not current or stamp > float(current):  # a later opening wins, as pybreaker's does
                pipe.set(key, repr(stamp))

        try:
            self._redis.transaction(set_if_later, key)
        except redis.RedisError as exc:
            log.warning("circuit breaker %s: opening time not kept (%s)", self._namespace_name, exc)


class _Breaker(pybreaker.CircuitBreaker):
    """pybreaker's breaker, letting one trial call through at a time, and logging and counting
    the transitions it makes (not those it notices another process or thread made, so each
    transition is counted once).

    pybreaker itself lets every call through once the cool-down is over, until one of them
    decides; here a call that would be a trial first claims the trial (``claim_trial``), and
    the others are refused as if the breaker were still open.
    """

    def __init__(self, *args, claim_trial: Callable[[str], bool], **kwargs):
        super().__init__(*args, **kwargs)
        self._claim_trial = claim_trial
        self._in_trial = False  # an object per thread (Breakers.get): no lock needed

    def _would_be_a_trial(self) -> bool:
        state = self.current_state
        if state == pybreaker.STATE_HALF_OPEN:
            return True
        if state != pybreaker.STATE_OPEN:
            return False
        opened_at = self._state_storage.opened_at
        return opened_at is None or (datetime.now(UTC) - opened_at).total_seconds() >= self.reset_timeout

    def call(self, func: Callable[..., T], *args, **kwargs) -> T:
        # pybreaker's open state moves to half-open and calls ``call`` again: the same trial.
        if self._in_trial or not self._would_be_a_trial():
            return super().call(func, *args, **kwargs)
        if not self._claim_trial(self.name):
            raise BreakerOpen("a trial call is already under way, circuit breaker still open")
        self._in_trial = True
        try:
            return super().call(func, *args, **kwargs)
        finally:
            self._in_trial = False

    def _moved(self, before: str, after: str) -> None:
        if before == after:
            return
        (log.warning if after == pybreaker.STATE_OPEN else log.info)(
            "circuit breaker %s: %s -> %s", self.name, before, after
        )
        from app.observability.metrics import count_breaker_transition

        count_breaker_transition(self.name, before, after)

    def open(self) -> bool:
        before = self._state.name
        result = super().open()
        self._moved(before, pybreaker.STATE_OPEN)
        return result

    def half_open(self) -> None:
        before = self._state.name
        super().half_open()
        self._moved(before, pybreaker.STATE_HALF_OPEN)

    def close(self) -> None:
        before = self._state.name
        super().close()
        self._moved(before, pybreaker.STATE_CLOSED)


class Breakers:
    """The app's breakers: settings and state storage per name, breaker objects per thread."""

    def __init__(self, app: Flask):
        config = app.config
        self.settings = {
            name: (config[f"BREAKER_{name.upper()}_FAIL_MAX"], config[f"BREAKER_{name.upper()}_RESET_SECONDS"])
            for name in NAMES
        }
        url = config.get("REDIS_URL")
        self.redis = None
        if url:
            timeout = config["BREAKER_STATE_TIMEOUT_SECONDS"]
            # CircuitRedisStorage decodes bytes itself: this client must not decode responses.
            self.redis = redis.Redis.from_url(
                url, decode_responses=False, socket_connect_timeout=timeout, socket_timeout=timeout
            )
        self.storages: dict[str, pybreaker.CircuitBreakerStorage] = {}
        self._lock = threading.Lock()
        self._local = threading.local()
        self._trials: dict[str, float] = {}  # name: until when this process's trial claim holds

    def storage(self, name: str) -> pybreaker.CircuitBreakerStorage:
        with self._lock:
            if name not in self.storages:
                if self.redis is not None and name in SHARED:
                    self.storages[name] = _SharedStorage(
                        pybreaker.STATE_CLOSED, self.redis, namespace=f"{NAMESPACE}:{name}"
                    )
                else:
                    self.storages[name] = pybreaker.CircuitMemoryStorage(pybreaker.STATE_CLOSED)
            return self.storages[name]

    def claim_trial(self, name: str) -> bool:
        """Claim the one trial call of an open breaker whose cool-down is over. The claim lasts a
        cool-down: when the trial fails the breaker opens for a new one and the claim expires with
        it; when whoever claimed dies mid-call, another may try after it."""
        reset_timeout = self.settings[name][1]
        if self.redis is not None and name in SHARED:
            key = f"{NAMESPACE}:{name}:trial"
            # Redis down: the shared state reads as closed anyway, so this process's claim stands in.
            with suppress(redis.RedisError):
                return bool(self.redis.set(key, 1, nx=True, px=max(int(reset_timeout * 1000), 1)))
        now = time.monotonic()
        with self._lock:
            if self._trials.get(name, 0.0) > now:
                return False
            self._trials[name] = now + reset_timeout
            return True

    def get(self, name: str) -> pybreaker.CircuitBreaker:
        """This thread's breaker ``name`` (its state shared with every other thread and, through
        Redis, every process)."""
        mine = self._local.__dict__.setdefault("breakers", {})
        if name not in mine:
            fail_max, reset_timeout = self.settings[name]
            mine[name] = _Breaker(
                fail_max=fail_max,
                reset_timeout=reset_timeout,
                exclude=EXCLUDE[name],
                state_storage=self.storage(name),
                name=name,
                throw_new_error_on_trip=False,
                claim_trial=self.claim_trial,
            )
        return mine[name]

    def state(self, name: str) -> str:
        """``closed``, ``open`` or ``half-open``, as stored (an open breaker whose cool-down is over
        stays ``open`` until its trial call)."""
        return self.storage(name).state

    def is_refusing(self, name: str) -> bool:
        """True while the breaker is open and its cool-down is not over: a call would not be tried."""
        storage = self.storage(name)
        if storage.state != pybreaker.STATE_OPEN:
            return False
        opened_at = storage.opened_at
        return opened_at is not None and (datetime.now(UTC) - opened_at).total_seconds() < self.settings[name][1]

    def seconds_left(self, name: str) -> int:
        """Roughly how long the cool-down still lasts (for ``Retry-After``), at least one second."""
        opened_at = self.storage(name).opened_at
        if opened_at is None:
            return 1
        left = self.settings[name][1] - (datetime.now(UTC) - opened_at).total_seconds()
        return max(int(left + 0.999), 1)

    def reset(self) -> None:
        """Close every breaker (tests, and ``flask`` shell after an incident)."""
        with self._lock:
            self._trials.clear()
        for name in NAMES:
            self.get(name).close()
            if self.redis is not None and name in SHARED:
                with contextlib.suppress(redis.RedisError):
                    self.redis.delete(f"{NAMESPACE}:{name}:trial")


def init_breakers(app: Flask) -> None:
    app.extensions[EXTENSION] = Breakers(app)


def breakers(app: Flask | None = None) -> Breakers:
    app = app or current_app._get_current_object()
    return app.extensions[EXTENSION]


def guarded(name: str, func: Callable[..., T], *args, **kwargs) -> T:
    """``func(*args, **kwargs)`` through the breaker ``name``. Raises ``BreakerOpen`` without
    calling ``func`` while the breaker is open; otherwise whatever ``func`` raises."""
    return breakers().get(name).call(func, *args, **kwargs)


def note_failure(name: str, error: BaseException) -> None:
    """Count ``error``, met outside a guarded call, against the breaker ``name`` (as a guarded
    call raising it would; errors the breaker excludes do not count)."""

    def fail() -> None:
        raise error

    with suppress(BreakerOpen, type(error)):
        guarded(name, fail)
