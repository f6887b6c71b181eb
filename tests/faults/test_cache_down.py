"""The page cache on a Redis that cannot be reached: misses and failed writes, never a 500.

The cache points at a port nothing listens on, so every Redis call fails at once with a
connection error (tests/faults/test_redis_down.py stops a real server under a running app).
"""

from __future__ import annotations

import logging
import time

import pytest

from app import create_app
from app.breakers import breakers
from app.extensions import cache
from tests.conftest import free_port, make_config, need
from tests.factories import make_book

RESILIENT = "app.extensions.ResilientRedisCache"


def app_with_cache_at(base_settings, url: str):
    """The test app with only its page cache on Redis at ``url`` (jobs and limits as in the suite)."""
    return create_app(make_config(**base_settings, CACHE_TYPE=RESILIENT, CACHE_REDIS_URL=url))


@pytest.fixture
def cache_down_app(app, base_settings):
    return app_with_cache_at(base_settings, f"redis://127.0.0.1:{free_port()}/0")


def test_the_pages_render_with_the_cache_unreachable(cache_down_app, caplog):
    with cache_down_app.app_context():
        book = make_book(title="Persuasion")
        book_path = f"/books/{book.id}/{book.slug}"
    client = cache_down_app.test_client()
    caplog.set_level(logging.WARNING, logger="app.extensions")
    for path in ("/", "/books", "/books?q=persuasion", book_path, "/clubs", "/contests", "/api/v1/books"):
        response = client.get(path, follow_redirects=True)
        assert response.status_code == 200, path
    assert "Persuasion" in client.get("/books").get_data(as_text=True)
    assert "cache get skipped, Redis unavailable" in caplog.text
    with cache_down_app.app_context():  # and after a few failures the cache is not even asked
        assert breakers().state("redis") == "open"


# What each call answers while Redis is away: reads miss, writes report failure.
DEGRADED = [
    ("get", ("k",), None),
    ("get_many", ("a", "b", "c"), [None, None, None]),
    ("has", ("k",), False),
    ("set", ("k", "v"), False),
    ("add", ("k", "v"), False),
    ("set_many", ({"a": 1, "b": 2},), []),
    ("delete", ("k",), False),
    ("delete_many", ("a", "b"), []),
    ("inc", ("n",), None),
    ("dec", ("n",), None),
    ("clear", (), False),
]


@pytest.mark.parametrize(("operation", "args", "answer"), DEGRADED, ids=[row[0] for row in DEGRADED])
def test_each_cache_call_degrades_and_says_so_once(cache_down_app, caplog, operation, args, answer):
    caplog.set_level(logging.WARNING, logger="app.extensions")
    with cache_down_app.app_context():
        assert getattr(cache.cache, operation)(*args) == answer
    warnings = [r.getMessage() for r in caplog.records if r.name == "app.extensions"]
    assert len(warnings) == 1 and warnings[0].startswith(f"cache {operation} skipped, Redis unavailable: ")


@pytest.mark.redis
def test_with_redis_up_every_call_reaches_it(app, base_settings, redis_url, caplog):
    """The same wrapper passes each call's arguments through unchanged when Redis answers."""
    url, why = redis_url
    need("Redis", url is not None, why)
    application = app_with_cache_at(base_settings, url)
    with application.app_context():
        store = cache.cache
        store.clear()
        assert store.set("k", "v", 60) is True and store.get("k") == "v" and store.has("k")
        assert store.add("k", "other") is False and store.get("k") == "v"
        assert store.set_many({"a": 1, "b": 2}) == ["a", "b"]
        assert store.get_many("a", "b", "missing") == [1, 2, None]
        assert (store.inc("n", 5), store.dec("n", 2)) == (5, 3)
        assert store.delete("k") is True and store.get("k") is None
        assert store.delete_many("a", "b") == ["a", "b"]
        assert store.clear() is True and store.get("n") is None
    assert "skipped" not in caplog.text


# ---- A Redis that hangs: the "redis" circuit breaker -------------------------------------------


@pytest.fixture
def hung_redis():
    """A port that takes connections (the kernel's backlog) and never answers: a hung Redis."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
    listener.close()


def test_a_hung_redis_opens_the_breaker_and_pages_stop_waiting_for_it(app, base_settings, hung_redis, caplog):
    timeout = 0.5
    application = create_app(
        make_config(
            **base_settings,
            CACHE_TYPE=RESILIENT,
            CACHE_REDIS_URL=hung_redis,
            CACHE_REDIS_TIMEOUT_SECONDS=timeout,
            BREAKER_REDIS_FAIL_MAX=2,
            BREAKER_REDIS_RESET_SECONDS=60,
        )
    )
    with app.app_context():  # the same database, without the hung cache
        make_book(title="Persuasion")
    client = application.test_client()
    caplog.set_level(logging.WARNING, logger="app.extensions")

    started = time.perf_counter()
    assert client.get("/books").status_code == 200  # two cache calls time out, then the breaker opens
    assert time.perf_counter() - started >= 2 * timeout
    with application.app_context():
        assert breakers().state("redis") == "open"
    waited = len(caplog.records)

    answers = []
    for _ in range(3):
        started = time.perf_counter()
        response = client.get("/books")
        answers.append(time.perf_counter() - started)
        assert response.status_code == 200 and "Persuasion" in response.get_data(as_text=True)
    assert sorted(answers)[1] < timeout  # the median page waits for no Redis timeout (shared machine: wall clock)
    assert len(caplog.records) == waited  # and no call went to Redis
    health = application.test_client().get("/readyz").get_json()
    assert health["status"] == "degraded" and health["breakers"]["redis"] == "open"
