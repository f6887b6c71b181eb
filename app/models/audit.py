"""What admins changed from the command line: who, what, on which record, when."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import UTCDateTime, utcnow


class AuditEntry(db.Model):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_target_at", "target", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False, index=True)
    actor: Mapped[str] = mapped_column(String(120), nullable=False)  # the OS account that ran it
    command: Mapped[str] = mapped_column(String(80), nullable=False, index=True)  # "users disable"
    target: Mapped[str] = mapped_column(String(200), nullable=False)  # "user:12", "book:9780...", "job:ab12"
    # The command line (secrets redacted) and what changed; the shape differs per command.
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, nullable=False)

    def __repr__(self) -> str:
        return f"<AuditEntry {self.command} {self.target} by {self.actor}>"
