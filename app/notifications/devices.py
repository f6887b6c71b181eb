"""Phones registered for push notifications."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import Device, User
from app.models.base import utcnow


def register_device(user: User, platform: str, push_token: str, retry: bool = True) -> tuple[Device, bool]:
    """Register a phone for push by its token; True when it is new for this reader.

    A token is one phone: registered again by another reader (the phone changed accounts), it
    moves to them, so pushes never reach the previous reader.
    """
    now = utcnow()
    device = db.session.scalar(select(Device).where(Device.push_token == push_token).with_for_update())
    created = device is None or device.user_id != user.id
    if device is None:
        device = Device(user_id=user.id, platform=platform, push_token=push_token, created_at=now)
        db.session.add(device)
    device.user_id, device.platform, device.last_seen_at = user.id, platform, now
    try:
        db.session.commit()
    except IntegrityError:  # registered at the same moment by a concurrent call: update that row
        db.session.rollback()
        if not retry:
            raise
        return register_device(user, platform, push_token, retry=False)
    return device, created
