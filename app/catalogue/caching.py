"""Cached catalogue fragments, invalidated by bumping a version when books change.

Keys carry a catalogue-wide version (for listings) and a per-book version (for detail pages),
so a change makes every stale entry unreachable at once, on every process sharing the cache.

Because an entry never changes under its versioned key, each process also keeps the entries it
has used in memory (``LOCAL_ENTRIES``, least recently used out): only the versions themselves are
read from the shared cache, once per request (``flask.g``), so a listing costs one Redis round
trip rather than one per fragment. A version is bumped with an atomic increment, so two changes
made at once by two processes both invalidate.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from flask import current_app, g, has_request_context

from app.extensions import cache

LISTING_VERSION = "catalogue:version"
LOCAL_ENTRIES = 256  # versioned fragments kept per process (a few MB)

LOCAL = "versioned_entries"  # where the app keeps this process's entries (app.extensions)


def _local() -> OrderedDict[str, Any] | None:
    """This process's entries for the current app; None when the shared cache is off (NullCache),
    as this one would otherwise keep what the configuration asked not to keep."""
    if current_app.config.get("CACHE_TYPE") == "NullCache" or g.get("cache_unreachable"):
        return None
    return current_app.extensions.setdefault(LOCAL, OrderedDict())


def _request_versions() -> dict[str, int] | None:
    if not has_request_context():
        return None
    if "cache_versions" not in g:
        g.cache_versions = {}
    return g.cache_versions


def current_version(key: str) -> int:
    """The version under ``key`` (0 when unknown: a first bump makes it 1), read once per request."""
    seen = _request_versions()
    if seen is not None and key in seen:
        return seen[key]
    value = cache.get(key)
    if value is None:
        value = _start_version(key)
    if seen is not None:
        seen[key] = int(value)
    return int(value)


def _start_version(key: str) -> int:
    """Version 0 for a key never bumped, unless another process started or bumped it meanwhile."""
    if cache.add(key, 0, timeout=0):
        return 0
    # The add failed: another process started it meanwhile (its value stands), or the shared cache
    # does not answer (ResilientRedisCache reads as a miss): then what this process kept cannot be
    # checked against the real version, so it is not used either.
    value = cache.get(key)
    if value is None:
        if has_request_context():
            g.cache_unreachable = True
        return 0
    return int(value)


def current_versions(keys: list[str]) -> list[int]:
    """Several versions in one round trip (``get_many``), remembered for the request like ``current_version``."""
    seen = _request_versions() or {}
    missing = [key for key in keys if key not in seen]
    if missing:
        for key, value in zip(missing, cache.get_many(*missing), strict=True):
            seen[key] = int(value) if value is not None else _start_version(key)
    return [seen[key] for key in keys]


def listing_key(params: dict) -> str:
    # A cache key, not a secret: the query parameters are public and nothing is verified with it.
    digest = hashlib.sha1(repr(sorted(params.items())).encode(), usedforsecurity=False).hexdigest()
    return f"catalogue:list:{current_version(LISTING_VERSION)}:{digest}"


def book_version_key(book_id: int) -> str:
    return f"catalogue:book-version:{book_id}"


def book_key(book_id: int, part: str = "detail") -> str:
    return f"catalogue:book:{book_id}:{current_version(book_version_key(book_id))}:{part}"


def lookup(key: str) -> Any | None:
    """The value under a versioned ``key``: from this process, else from the shared cache (and kept here)."""
    local = _local()
    if local is not None and key in local:
        local.move_to_end(key)
        return local[key]
    value = cache.get(key)
    if value is not None:
        _keep(key, value)
    return value


def lookup_many(*keys: str) -> list[Any | None]:
    """``lookup`` of several versioned keys, the ones not kept here in one round trip."""
    local = _local()
    found: dict[str, Any] = {}
    for key in keys:
        if local is not None and key in local:
            local.move_to_end(key)
            found[key] = local[key]
    missing = [key for key in keys if key not in found]
    if missing:
        for key, value in zip(missing, cache.get_many(*missing), strict=True):
            if value is not None:
                _keep(key, value)
            found[key] = value
    return [found[key] for key in keys]


def store_many(values: dict[str, Any], timeout: int | None = None) -> None:
    """``store`` of several versioned keys in one round trip."""
    cache.set_many(values, timeout=current_app.config["CATALOGUE_CACHE_SECONDS"] if timeout is None else timeout)
    for key, value in values.items():
        _keep(key, value)


def store(key: str, value: Any, timeout: int | None = None) -> None:
    """Put ``value`` under a versioned ``key``, in the shared cache and in this process."""
    cache.set(key, value, timeout=current_app.config["CATALOGUE_CACHE_SECONDS"] if timeout is None else timeout)
    _keep(key, value)


def _keep(key: str, value: Any) -> None:
    local = _local()
    if local is None:
        return
    local[key] = value
    if len(local) > LOCAL_ENTRIES:
        local.popitem(last=False)


def cached(key: str, make: Callable[[], Any], timeout: int | None = None) -> Any:
    """The value under a versioned ``key``, or ``make()``'s, stored. Only for keys that carry a
    version: what this process keeps is never refreshed, only forgotten when unused."""
    value = lookup(key)
    if value is None:
        value = make()
        store(key, value, timeout)
    return value


def bump(key: str) -> None:
    value = cache.cache.inc(key)  # atomic on Redis (INCR): two changes at once give two new versions
    if value is None:  # a backend without inc, or Redis unreachable: any new value invalidates
        value = current_version(key) + 1
        cache.set(key, value, timeout=0)
    seen = _request_versions()
    if seen is not None:
        seen[key] = int(value)


BUMP_CHUNK = 1000


def invalidate_books(book_ids: list[int] | None = None) -> None:
    """Forget cached listings and, for ``book_ids``, their detail fragments.

    The listing version and a single book's are bumped atomically. Many books at once (an import
    can update a hundred thousand) take two round trips per thousand instead of one per book: a
    concurrent change to the same book could then end on the same new version as this one, and
    only its detail fragment could lag, by ``CATALOGUE_CACHE_SECONDS`` at most.
    """
    bump(LISTING_VERSION)
    ids = list(book_ids or [])
    if len(ids) == 1:
        bump(book_version_key(ids[0]))
        return
    seen = _request_versions()
    for start in range(0, len(ids), BUMP_CHUNK):
        keys = [book_version_key(book_id) for book_id in ids[start : start + BUMP_CHUNK]]
        bumped = {key: int(value or 0) + 1 for key, value in zip(keys, cache.get_many(*keys), strict=True)}
        cache.set_many(bumped, timeout=0)
        if seen is not None:
            seen.update(bumped)
