"""Reading logs, yearly goals, and contests between clubs or between readers."""

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import TimestampMixin, UTCDateTime, utcnow


class ReadingLog(db.Model):
    """A book a reader finished. Only confirmed entries count in contests."""

    __tablename__ = "reading_logs"
    __table_args__ = (
        CheckConstraint("pages > 0", name="pages_positive"),
        Index("ix_reading_logs_user_finished", "user_id", "finished_at"),
        Index("ix_reading_logs_finished", "finished_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    book_id: Mapped[int | None] = mapped_column(ForeignKey("books.id"))
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    author: Mapped[str] = mapped_column(String(200), default="", nullable=False)
    pages: Mapped[int] = mapped_column(Integer, nullable=False)
    finished_on: Mapped[date] = mapped_column(Date, nullable=False)
    # The moment it counts in contests: noon UTC of the day, or the time it was logged on the day.
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    confirmed: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)


class ReadingGoal(db.Model):
    __tablename__ = "reading_goals"
    __table_args__ = (
        UniqueConstraint("user_id", "year", name="uq_reading_goals_user_year"),
        CheckConstraint("books > 0", name="books_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    books: Mapped[int] = mapped_column(Integer, nullable=False)


class ContestKind:
    CLUBS = "clubs"
    READERS = "readers"
    LABELS = {CLUBS: "Club against club", READERS: "Reader against reader"}


class Metric:
    BOOKS_READ = "books_read"
    PAGES_READ = "pages_read"
    MONEY_DONATED = "money_donated"
    BOOKS_DONATED = "books_donated"
    LABELS = {
        BOOKS_READ: "Books read",
        PAGES_READ: "Pages read",
        MONEY_DONATED: "Money donated",
        BOOKS_DONATED: "Books donated",
    }


class Scoring:
    TOTAL = "total"
    PER_MEMBER = "per_member"
    LABELS = {TOTAL: "Total", PER_MEMBER: "Per active member"}


class ContestStatus:
    DRAFT = "draft"
    OPEN = "open"
    SCORING = "scoring"
    FINISHED = "finished"
    CANCELLED = "cancelled"
    LABELS = {
        DRAFT: "Draft",
        OPEN: "Open",
        SCORING: "Results being checked",
        FINISHED: "Finished",
        CANCELLED: "Cancelled",
    }


class Contest(TimestampMixin, db.Model):
    __tablename__ = "contests"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="window_positive"),
        Index("ix_contests_status_ends", "status", "ends_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str] = mapped_column(Text, default="", nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    metric: Mapped[str] = mapped_column(String(16), nullable=False)
    scoring: Mapped[str] = mapped_column(String(16), default=Scoring.TOTAL, nullable=False)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    status: Mapped[str] = mapped_column(String(16), default=ContestStatus.DRAFT, nullable=False)
    prize: Mapped[str] = mapped_column(String(300), default="", nullable=False)
    host_club_id: Mapped[int | None] = mapped_column(ForeignKey("clubs.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Rules that vary per contest (member floor, provisional period...), and the final standings.
    rules: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, nullable=False)
    standings: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    provisional_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    scored_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def status_label(self) -> str:
        return ContestStatus.LABELS.get(self.status, self.status)

    @property
    def kind_label(self) -> str:
        return ContestKind.LABELS.get(self.kind, self.kind)

    @property
    def metric_label(self) -> str:
        return Metric.LABELS.get(self.metric, self.metric)

    @property
    def scoring_label(self) -> str:
        return Scoring.LABELS.get(self.scoring, self.scoring)

    @property
    def is_club_contest(self) -> bool:
        return self.kind == ContestKind.CLUBS

    @property
    def member_floor(self) -> int:
        return int((self.rules or {}).get("member_floor", 3))


class ContestEntry(db.Model):
    __tablename__ = "contest_entries"
    __table_args__ = (
        UniqueConstraint("contest_id", "club_id", name="uq_contest_entries_contest_club"),
        UniqueConstraint("contest_id", "user_id", name="uq_contest_entries_contest_user"),
        CheckConstraint("(club_id IS NULL) <> (user_id IS NULL)", name="one_entrant"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contest_id: Mapped[int] = mapped_column(ForeignKey("contests.id", ondelete="CASCADE"), nullable=False, index=True)
    club_id: Mapped[int | None] = mapped_column(ForeignKey("clubs.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)


class ContestFlag(TimestampMixin, db.Model):
    """A suspicious reading-log entry an owner flags while results are provisional."""

    __tablename__ = "contest_flags"
    __table_args__ = (UniqueConstraint("contest_id", "reading_log_id", name="uq_contest_flags_contest_log"),)

    OPEN = "open"
    UPHELD = "upheld"  # the entry is removed from the contest
    DISMISSED = "dismissed"

    id: Mapped[int] = mapped_column(primary_key=True)
    contest_id: Mapped[int] = mapped_column(ForeignKey("contests.id", ondelete="CASCADE"), nullable=False, index=True)
    reading_log_id: Mapped[int] = mapped_column(ForeignKey("reading_logs.id", ondelete="CASCADE"), nullable=False)
    flagged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(String(500), nullable=False)
    status: Mapped[str] = mapped_column(String(16), default=OPEN, nullable=False)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class ContestRun(db.Model):
    """Each scoring of a contest, for the record (a rescore says who asked and why)."""

    __tablename__ = "contest_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    contest_id: Mapped[int] = mapped_column(ForeignKey("contests.id", ondelete="CASCADE"), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)  # score, rescore
    requested_by: Mapped[str] = mapped_column(String(254), default="scheduler", nullable=False)
    note: Mapped[str] = mapped_column(String(500), default="", nullable=False)
    winner: Mapped[str | None] = mapped_column(String(200))
    standings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, nullable=False)
    ran_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
