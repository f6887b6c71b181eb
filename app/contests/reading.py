"""The reading log: what readers finished, with limits that keep contests honest."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from flask import current_app
from sqlalchemy import func, select

from app.extensions import db
from app.formatting import local_today
from app.models import ReadingGoal, ReadingLog, User


class ReadingError(ValueError):
    """An entry the rules refuse; the message says why."""


class NeedsConfirmation(ReadingError):
    """An unusual entry: the reader must confirm it before it is saved."""


@dataclass
class YearProgress:
    year: int
    books: int
    pages: int
    goal: int | None

    @property
    def percent(self) -> int:
        return min(100, round(100 * self.books / self.goal)) if self.goal else 0


def _limits() -> tuple[int, int, int]:
    cfg = current_app.config
    return cfg["READING_MAX_ENTRIES_PER_DAY"], cfg["READING_MAX_PAGES_PER_DAY"], cfg["READING_UNUSUAL_PAGES"]


def log_book(
    user: User,
    *,
    title: str,
    author: str,
    pages: int,
    finished_on: date,
    book_id: int | None = None,
    confirmed: bool = False,
    now: datetime | None = None,
) -> ReadingLog:
    """Record a finished book.

    Refused: a date in the future, more than the daily cap of entries or pages. Unusual
    entries (a very long book, or past half the daily page cap) need ``confirmed=True``.
    """
    now = now or datetime.now(UTC)
    today = local_today(user, now)  # the reader's today: "finished today" must work east of UTC too
    max_entries, max_pages, unusual_pages = _limits()
    title, author = title.strip(), author.strip()
    if not title:
        raise ReadingError("Give the book's title.")
    if pages < 1 or pages > max_pages:
        raise ReadingError(f"Pages must be between 1 and {max_pages}.")
    if finished_on > today:
        raise ReadingError("You cannot log a book you finish in the future.")
    if finished_on < today - timedelta(days=366):
        raise ReadingError("Only books finished in the last year can be logged.")
    count, pages_that_day = db.session.execute(
        select(func.count(ReadingLog.id), func.coalesce(func.sum(ReadingLog.pages), 0)).where(
            ReadingLog.user_id == user.id, ReadingLog.finished_on == finished_on
        )
    ).one()
    if count >= max_entries:
        raise ReadingError(f"You already logged {count} books for that day, the most we accept.")
    if pages_that_day + pages > max_pages:
        raise ReadingError(f"That would make {pages_that_day + pages} pages in one day; the limit is {max_pages}.")
    unusual = pages >= unusual_pages or pages_that_day + pages > max_pages // 2
    if unusual and not confirmed:
        raise NeedsConfirmation(
            f"{pages_that_day + pages} pages in one day is a lot. Tick the box to confirm you really read them."
        )
    # The moment it counts in contests: now if it is today, else noon UTC of that day.
    finished_at = now if finished_on == today else datetime.combine(finished_on, time(12), tzinfo=UTC)
    entry = ReadingLog(
        user_id=user.id,
        book_id=book_id,
        title=title[:300],
        author=author[:200],
        pages=pages,
        finished_on=finished_on,
        finished_at=finished_at,
        confirmed=True,
    )
    db.session.add(entry)
    db.session.commit()
    return entry


def delete_entry(user: User, entry_id: int) -> None:
    entry = db.session.get(ReadingLog, entry_id)
    if entry is None or entry.user_id != user.id:
        raise ReadingError("That entry is not in your log.")
    db.session.delete(entry)
    db.session.commit()


def reading_log(user: User, limit: int = 50) -> list[ReadingLog]:
    return list(
        db.session.scalars(
            select(ReadingLog)
            .where(ReadingLog.user_id == user.id)
            .order_by(ReadingLog.finished_on.desc(), ReadingLog.id.desc())
            .limit(limit)
        )
    )


def set_goal(user: User, year: int, books: int) -> ReadingGoal:
    if not 1 <= books <= 1000:
        raise ReadingError("Choose a goal between 1 and 1000 books.")
    goal = db.session.scalar(select(ReadingGoal).where(ReadingGoal.user_id == user.id, ReadingGoal.year == year))
    if goal is None:
        goal = ReadingGoal(user_id=user.id, year=year, books=books)
        db.session.add(goal)
    goal.books = books
    db.session.commit()
    return goal


def year_progress(user: User, year: int) -> YearProgress:
    """Books and pages read in ``year`` and the goal (two queries)."""
    books, pages = db.session.execute(
        select(func.count(ReadingLog.id), func.coalesce(func.sum(ReadingLog.pages), 0)).where(
            ReadingLog.user_id == user.id,
            ReadingLog.finished_on >= date(year, 1, 1),
            ReadingLog.finished_on <= date(year, 12, 31),
            ReadingLog.confirmed.is_(True),
        )
    ).one()
    goal = db.session.scalar(select(ReadingGoal.books).where(ReadingGoal.user_id == user.id, ReadingGoal.year == year))
    return YearProgress(year=year, books=int(books), pages=int(pages), goal=goal)
