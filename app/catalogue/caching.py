"""Cached catalogue fragments, invalidated by bumping a version when books change.

Keys carry a catalogue-wide version (for listings) and a per-book version (for detail pages),
so a change makes every stale entry unreachable at once, on every process sharing the cache.
"""

from __future__ import annotations

import hashlib

from app.extensions import cache

LISTING_VERSION = "catalogue:version"


def _version(key: str) -> int:
    value = cache.get(key)
    if value is None:
        value = 1
        cache.set(key, value, timeout=0)
    return int(value)


def listing_key(params: dict) -> str:
    # A cache key, not a secret: the query parameters are public and nothing is verified with it.
    digest = hashlib.sha1(repr(sorted(params.items())).encode(), usedforsecurity=False).hexdigest()
    return f"catalogue:list:{_version(LISTING_VERSION)}:{digest}"


def book_key(book_id: int, part: str = "detail") -> str:
    return f"catalogue:book:{book_id}:{_version(f'catalogue:book-version:{book_id}')}:{part}"


def _bump(key: str) -> None:
    # Not atomic on every backend, but any change of value invalidates, which is all we need.
    cache.set(key, _version(key) + 1, timeout=0)


BUMP_CHUNK = 1000


def invalidate_books(book_ids: list[int] | None = None) -> None:
    """Forget cached listings and, for ``book_ids``, their detail fragments.

    Two cache round trips per thousand books (an import can update a hundred thousand).
    """
    _bump(LISTING_VERSION)
    ids = list(book_ids or [])
    for start in range(0, len(ids), BUMP_CHUNK):
        keys = [f"catalogue:book-version:{book_id}" for book_id in ids[start : start + BUMP_CHUNK]]
        versions = cache.get_many(*keys)
        cache.set_many({key: int(value or 1) + 1 for key, value in zip(keys, versions, strict=True)}, timeout=0)
