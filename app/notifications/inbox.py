"""In-app notifications: one store for the /notifications page and the mobile API.

Emails about things that happened to a reader (a donation received, an order paid, a join
request decided...) also leave a notification, under the email's own idempotency key.
"""

from __future__ import annotations

from sqlalchemy import func, select, update

from app.bulk_insert import insert_rows
from app.extensions import db
from app.models import Notification, User
from app.models.base import utcnow


def _club(context) -> str:
    club = context.get("club")
    return f"/clubs/{club.slug}" if club is not None else "/clubs"


# template -> (kind, where the notification leads)
NOTIFYING = {
    "order_receipt": ("order", lambda c: f"/orders/{c['order'].id}"),
    "order_out_of_stock": ("order", lambda c: f"/orders/{c['order'].id}"),
    "order_payment_failed": ("order", lambda c: f"/orders/{c['order'].id}"),
    "order_refunded": ("order", lambda c: f"/orders/{c['order'].id}"),
    "donation_receipt": ("donation", lambda c: f"/donations/{c['donation'].id}"),
    "donation_failed": ("donation", lambda c: f"/donations/{c['donation'].id}"),
    "donation_refunded": ("donation", lambda c: f"/donations/{c['donation'].id}"),
    "donation_notice": ("club", lambda c: _club(c) + "/donations"),
    "club_gift_notice": ("club", _club),
    "club_join_request": ("club", lambda c: _club(c) + "/members"),
    "club_join_decision": ("club", _club),
    "book_offer_received": ("club", lambda c: _club(c) + "/offers"),
    "book_offer_decision": ("club", _club),
    "contest_results": ("contest", lambda c: f"/contests/{c['contest'].id}"),
    "contest_winner": ("contest", lambda c: f"/contests/{c['contest'].id}"),
}


def notify_for_email(template: str, key: str, user: User | None, subject: str, context: dict) -> None:
    """Leave a notification beside an email, if the email is one readers want to see in the app."""
    row = notification_for_email(template, key, user, subject, context)
    if row is not None:
        notify(row["user_id"], kind=row["kind"], key=key, title=subject, url=row["url"])


def notification_for_email(template: str, key: str, user: User | None, subject: str, context: dict) -> dict | None:
    """The notification row that goes beside this email (see ``record_notifications``), or None."""
    if user is None or template not in NOTIFYING or getattr(user, "id", None) is None:
        return None
    kind, link = NOTIFYING[template]
    return _row(user.id, kind=kind, key=key, title=subject, url=link(context))


def _row(user_id: int, *, kind: str, key: str, title: str, body: str = "", url: str = "") -> dict:
    return {"user_id": user_id, "kind": kind, "key": key, "title": title[:200], "body": body, "url": url[:500]}


def notify(user_id: int, *, kind: str, key: str, title: str, body: str = "", url: str = "") -> None:
    """Record a notification (in the caller's transaction); the same key twice adds nothing."""
    if db.session.scalar(select(Notification.id).where(Notification.key == key)):
        return
    db.session.add(Notification(**_row(user_id, kind=kind, key=key, title=title, body=body, url=url)))


def record_notifications(rows: list[dict]) -> None:
    """Insert many notification rows (from ``notification_for_email``) at once, in the caller's
    transaction, without an ORM object each (a contest's results). The caller has checked that
    no notification has their keys."""
    from app.accounts.user_cache import note_readers  # app.accounts imports this module's users

    if not rows:
        return
    created_at = utcnow()
    insert_rows(Notification.__table__, [{**row, "created_at": created_at, "read_at": None} for row in rows])
    note_readers({row["user_id"] for row in rows})  # their unread counts changed


def mark_done(key: str) -> None:
    """What a notification asked for is done (a request decided by any owner or moderator): it is
    read for whoever got it. In the caller's transaction."""
    db.session.execute(
        update(Notification)
        .where(Notification.key == key, Notification.read_at.is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def unread_count(user: User) -> int:
    return db.session.scalar(
        select(func.count(Notification.id)).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    )


def notifications_for(user: User, *, before_id: int | None = None, limit: int = 20) -> list[Notification]:
    """Newest first; ``before_id`` pages backwards (a cursor that stays right as new ones arrive)."""
    query = select(Notification).where(Notification.user_id == user.id)
    if before_id is not None:
        query = query.where(Notification.id < before_id)
    return list(db.session.scalars(query.order_by(Notification.id.desc()).limit(limit)))


def mark_read(user: User, ids: list[int] | None = None) -> int:
    """Mark some (or all) of a reader's notifications read; returns how many changed."""
    query = update(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    if ids is not None:
        query = query.where(Notification.id.in_(ids))
    changed = db.session.execute(query.values(read_at=utcnow()).execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return changed
