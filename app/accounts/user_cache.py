"""The signed-in reader as every page needs it, from the shared cache instead of a query per request.

Each request of a signed-in reader needs their row (name, time zone, admin, session version,
disabled or deleted) and the header's cart count and unread notifications. They are kept
together as a small snapshot in the cache for ``USER_CACHE_SECONDS``; a miss loads them in one query.

A snapshot is trusted only while its reader's *generation* is unchanged. Session hooks, one place
for every write path, move it on in the same request that changes something:

- a flush that inserts, changes or deletes a ``User``, a ``CartItem``, a ``Notification`` or a
  ``Membership`` notes that reader;
- a bulk ``UPDATE``/``DELETE`` of those tables notes the reader its WHERE names
  (``users.id = ?``, ``user_id = ?``: log out everywhere, paying for a cart, marking
  notifications read); one that names none moves every reader's generation on (a shared key);
- after the commit, the noted generations are incremented, so the very next request loads the
  row again: log out everywhere, password change, deactivation, an admin's role change, a cart
  change all take effect at once.

The generation is read *before* a miss queries the database and is stored with the snapshot, so
a snapshot loaded just before a concurrent change is refused on the next read instead of living
on until it expires.

The password hash is never cached: it is loaded on first access (a query) by the few pages that
check a password.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from flask import current_app, g, has_app_context
from sqlalchemy import func, select
from sqlalchemy.orm import make_transient_to_detached

from app.extensions import cache, db
from app.models import CartItem, Membership, Notification, User
from app.row_changes import EVERY_ROW, watch

EVERYONE = "user:generation:all"
_STALE = "user_cache_stale"  # session.info: reader ids changed in this transaction, or EVERYONE
_COLUMNS = [column.key for column in User.__table__.columns if column.key != "password_hash"]


def _generation_key(user_id: int) -> str:
    return f"user:generation:{user_id}"


# Part of the key: a deploy that changes what a snapshot holds never reads an older one.
SNAPSHOT_FORMAT = 3


def _snapshot_key(user_id: int) -> str:
    return f"user:snapshot:{SNAPSHOT_FORMAT}:{user_id}"


@dataclass
class Snapshot:
    values: dict
    cart_count: int
    unread: int
    generations: tuple
    # club id -> (status, role) of the reader's memberships; loaded by the first page that needs
    # them (``memberships_of``), None until then.
    memberships: dict | None = None


def enabled() -> bool:
    return bool(current_app.config.get("USER_CACHE_SECONDS"))


def load_signed_in(user_id: int) -> User | None:
    """The reader with this id (from the snapshot when it is current), or None if there is none.

    Also leaves the reader's cart and unread counts in ``g`` for the header."""
    if not enabled():
        return _load(user_id, generations=None)
    everyone, own, found = cache.get_many(*reader_keys_of(user_id))
    snapshot = current_snapshot(everyone, own, found)
    if snapshot is not None:
        g.cart_count, g.unread_notifications = snapshot.cart_count, snapshot.unread
        g.reader_snapshot = snapshot
        return _attach(snapshot.values)
    return _load(user_id, generations=(everyone, own))


def reader_keys_of(user_id: int) -> list[str]:
    """The cache keys ``current_snapshot`` reads (one ``get_many`` with others, app/page_serving.py)."""
    return [EVERYONE, _generation_key(user_id), _snapshot_key(user_id)]


def current_snapshot(everyone: object, own: object, found: object) -> Snapshot | None:
    """The snapshot read under ``reader_keys_of``, if it is still current."""
    if isinstance(found, Snapshot) and found.generations == (everyone, own):
        return found
    return None


def _load(user_id: int, generations: tuple | None) -> User | None:
    """The reader and their header counts in one query; cached unless ``generations`` is None."""
    row = db.session.execute(
        select(
            User,
            func.coalesce(_cart_sum(user_id).scalar_subquery(), 0),
            _unread(user_id).scalar_subquery(),
        ).where(User.id == user_id)
    ).first()
    if row is None:
        return None
    user, cart_count, unread = row
    g.cart_count, g.unread_notifications = int(cart_count), int(unread)
    if generations is not None:
        snapshot = Snapshot(
            {key: getattr(user, key) for key in _COLUMNS}, g.cart_count, g.unread_notifications, generations
        )
        cache.set(_snapshot_key(user_id), snapshot, timeout=current_app.config["USER_CACHE_SECONDS"])
        g.reader_snapshot = snapshot
    return user


def reader_snapshot() -> Snapshot | None:
    """The signed-in reader's snapshot this request loaded (None with the user cache off)."""
    return g.get("reader_snapshot")


def memberships_of(user_id: int) -> dict[int, tuple[str, str]]:
    """The reader's memberships, club id -> (status, role): from their snapshot, or one query
    (then kept in the snapshot, under the same generations: a change made meanwhile still wins)."""
    snapshot = g.get("reader_snapshot")
    if snapshot is not None and snapshot.values.get("id") == user_id and snapshot.memberships is not None:
        return snapshot.memberships
    rows = db.session.execute(
        select(Membership.club_id, Membership.status, Membership.role).where(Membership.user_id == user_id)
    )
    found = {club_id: (status, role) for club_id, status, role in rows}
    if snapshot is not None and snapshot.values.get("id") == user_id:
        g.reader_snapshot = replace(snapshot, memberships=found)
        cache.set(_snapshot_key(user_id), g.reader_snapshot, timeout=current_app.config["USER_CACHE_SECONDS"])
    return found


def _cart_sum(user_id: int):
    return select(func.sum(CartItem.quantity)).where(CartItem.user_id == user_id)


def _unread(user_id: int):
    return select(func.count(Notification.id)).where(Notification.user_id == user_id, Notification.read_at.is_(None))


def unread_count_of(user_id: int) -> int:
    """The reader's unread notifications for the nav badge: from this request's snapshot, or one query."""
    if "unread_notifications" in g:
        return g.unread_notifications
    g.unread_notifications = int(db.session.scalar(_unread(user_id)))
    return g.unread_notifications


def cart_count_of(user_id: int) -> int:
    """The reader's cart count: from this request's snapshot, or one query."""
    if "cart_count" in g:
        return g.cart_count
    g.cart_count = int(db.session.scalar(select(func.coalesce(_cart_sum(user_id).scalar_subquery(), 0))))
    return g.cart_count


def _attach(values: dict) -> User:
    """A persistent ``User`` in this request's session built from cached values, without a query;
    the attributes left out (the password hash) load on first access."""
    user = User(**values)
    make_transient_to_detached(user)
    return db.session.merge(user, load=False)


# ---- Invalidation ---------------------------------------------------------------------------


def note_readers(user_ids) -> None:  # noqa: ANN001 - any iterable of ids
    """Readers whose rows were written without the ORM (``app.bulk_insert``): their snapshots go
    after the commit, as for a flush."""
    db.session().info.setdefault(_STALE, set()).update(user_ids)


def _bump_generations(stale: set) -> None:
    if has_app_context():
        g.pop("cart_count", None)
        g.pop("unread_notifications", None)
    keys = [EVERYONE if item == EVERY_ROW else _generation_key(item) for item in stale]
    inc_many = getattr(cache.cache, "inc_many", None)
    if inc_many is not None and len(keys) > 1:
        inc_many(keys)  # one round trip for a contest's 10,000 readers, not one each
        return
    for key in keys:
        cache.cache.inc(key)  # atomic on Redis


# The hooks (app/row_changes.py): the reader of every changed user row, cart item, notification
# and membership; a bulk statement naming no reader moves everyone's generation on.
install_user_cache = watch(
    _STALE,
    {User: "id", CartItem: "user_id", Notification: "user_id", Membership: "user_id"},
    _bump_generations,
)
