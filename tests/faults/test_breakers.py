"""app/breakers.py on its own: one trial call at a time once the cool-down is over, in one
process (threads) and across processes (the claim in Redis)."""

from __future__ import annotations

import threading
import time

import pytest

from app import create_app
from app.breakers import BreakerOpen, breakers, guarded
from tests.conftest import make_config, need

COOL_DOWN = 0.5


class Down(Exception):
    pass


def fail() -> None:
    raise Down


def breaker_app(base_settings, **settings):
    breaker = {"BREAKER_PAYMENTS_FAIL_MAX": 2, "BREAKER_PAYMENTS_RESET_SECONDS": COOL_DOWN}
    return create_app(make_config(**{**base_settings, **breaker, **settings}))


def open_and_wait(application) -> None:
    with application.app_context():
        for _ in range(2):
            with pytest.raises(Down):
                guarded("payments", fail)
        with pytest.raises(BreakerOpen):
            guarded("payments", fail)
    time.sleep(COOL_DOWN + 1.1)  # Redis keeps the opening time in whole seconds


def one_trial_while_others_are_refused(trial_app, other_app) -> list[str]:
    """A slow trial call on ``trial_app`` (in a thread); meanwhile ``other_app`` tries too."""
    calls: list[str] = []
    started = threading.Event()

    def slow_success() -> None:
        calls.append("trial")
        started.set()
        time.sleep(0.5)

    def trial() -> None:
        with trial_app.app_context():
            guarded("payments", slow_success)

    thread = threading.Thread(target=trial)
    thread.start()
    assert started.wait(5)
    with other_app.app_context(), pytest.raises(BreakerOpen, match="trial call is already under way"):
        guarded("payments", lambda: calls.append("second"))
    thread.join()
    with other_app.app_context():
        assert breakers().state("payments") == "closed"
        guarded("payments", lambda: calls.append("after"))
    return calls


def test_one_trial_call_at_a_time_between_threads(app, base_settings):
    application = breaker_app(base_settings)
    open_and_wait(application)
    assert one_trial_while_others_are_refused(application, application) == ["trial", "after"]


def test_one_trial_call_at_a_time_between_instances_sharing_redis(app, base_settings, redis_url):
    url, why = redis_url
    need("Redis", url is not None, why)
    import redis

    redis.Redis.from_url(url).flushdb()
    shared = {"REDIS_URL": url, "RATELIMIT_STORAGE_URI": url}
    first, second = breaker_app(base_settings, **shared), breaker_app(base_settings, **shared)
    try:
        open_and_wait(first)
        assert one_trial_while_others_are_refused(first, second) == ["trial", "after"]
    finally:
        redis.Redis.from_url(url).flushdb()


def test_the_shared_opening_time_keeps_its_fraction_of_a_second(app, base_settings, redis_url):
    """pybreaker's Redis storage kept whole seconds: a cool-down could end up to a second early."""
    from datetime import UTC, datetime

    url, why = redis_url
    need("Redis", url is not None, why)
    application = breaker_app(base_settings, REDIS_URL=url, RATELIMIT_STORAGE_URI=url)
    with application.app_context():
        storage = breakers().storage("payments")
        opened = datetime(2026, 11, 26, 12, 0, 0, 900_000, tzinfo=UTC)
        storage.opened_at = opened
        assert storage.opened_at == opened
        storage.opened_at = datetime(2026, 11, 26, 11, 59, 59, tzinfo=UTC)  # an older opening does not win
        assert storage.opened_at == opened


def test_a_redis_down_leaves_shared_breakers_closed_and_calls_going_through(app, base_settings):
    """The shared state cannot be read: the breaker reads as closed (pybreaker's fallback) and the
    app keeps calling out, as it would without breakers."""
    application = breaker_app(base_settings, REDIS_URL="redis://127.0.0.1:1/0")
    with application.app_context():
        assert guarded("payments", lambda: "called") == "called"
        assert breakers().state("payments") == "closed"
