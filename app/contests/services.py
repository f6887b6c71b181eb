"""Contest rules: creating, opening, entering, cancelling, scoring and rescoring.

Scoring is idempotent: standings and the emails that announce them are written in one
transaction under unique keys; the mail outbox sends them after the commit, and its sweep sends
any a crash held back. Running it twice, or after a worker died mid-way, changes nothing more.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.contests.leaderboard import forget_live
from app.contests.scoring import compute_standings
from app.extensions import db
from app.models import (
    Club,
    Contest,
    ContestEntry,
    ContestFlag,
    ContestKind,
    ContestRun,
    ContestStatus,
    EmailMessage,
    Membership,
    Metric,
    ReadingLog,
    Role,
    Scoring,
    User,
)
from app.notifications.email import record_emails

log = logging.getLogger(__name__)


class ContestError(ValueError):
    """A contest change the rules refuse; the message says why."""


def now_utc() -> datetime:
    return datetime.now(UTC)


def create_contest(
    *,
    title: str,
    kind: str,
    metric: str,
    starts_at: datetime,
    ends_at: datetime,
    scoring: str = Scoring.TOTAL,
    description: str = "",
    prize: str = "",
    created_by: User | None = None,
    host_club: Club | None = None,
    member_floor: int = 3,
    provisional_hours: int | None = None,
) -> Contest:
    """A draft contest. Club owners may host club-against-club contests only."""
    if kind not in ContestKind.LABELS or metric not in Metric.LABELS or scoring not in Scoring.LABELS:
        raise ContestError("Choose a kind, a metric and a scoring rule from the lists.")
    if kind == ContestKind.READERS and scoring == Scoring.PER_MEMBER:
        raise ContestError("Per-member scoring is for club contests.")
    if host_club is not None and kind != ContestKind.CLUBS:
        raise ContestError("A club can host only club-against-club contests.")
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise ContestError("Give the window with a time zone.")
    if ends_at <= starts_at:
        raise ContestError("The contest must end after it starts.")
    if not title.strip():
        raise ContestError("Give the contest a title.")
    hours = current_app.config["CONTEST_PROVISIONAL_HOURS"] if provisional_hours is None else provisional_hours
    contest = Contest(
        title=title.strip()[:200],
        description=description.strip(),
        kind=kind,
        metric=metric,
        scoring=scoring,
        starts_at=starts_at.astimezone(UTC),
        ends_at=ends_at.astimezone(UTC),
        prize=prize.strip()[:300],
        created_by_id=created_by.id if created_by else None,
        host_club_id=host_club.id if host_club else None,
        rules={
            "member_floor": max(1, member_floor),
            "provisional_hours": max(0, hours),
            "window": "both ends included",
        },
    )
    db.session.add(contest)
    db.session.commit()
    return contest


def open_contest(contest: Contest) -> Contest:
    """Open a draft for entries and schedule its scoring at the end of the window."""
    if contest.status != ContestStatus.DRAFT:
        raise ContestError(f"Only a draft can be opened; this contest is {contest.status_label.lower()}.")
    if contest.ends_at <= now_utc():
        raise ContestError("This contest's window is already over.")
    contest.status = ContestStatus.OPEN
    db.session.commit()
    schedule_scoring(contest)
    return contest


def schedule_scoring(contest: Contest, at: datetime | None = None) -> None:
    """Ask RQ's scheduler to score the contest when it ends (no-op without Redis: cron runs close-due)."""
    from app.jobs import redis_connection

    if redis_connection() is None:
        return
    when = at or contest.ends_at
    intervals = current_app.config["JOB_RETRY_INTERVALS"]
    try:
        _enqueue_scoring(contest, when, intervals)
    except RedisError:
        # Redis is down: the contest stays open and `flask contests close-due` (cron) scores it.
        log.warning("could not schedule scoring of contest %s; close-due will score it", contest.id)


def _enqueue_scoring(contest: Contest, when: datetime, intervals: list[int]) -> None:
    from rq import Retry

    from app.jobs import get_queue

    get_queue("default").enqueue_at(
        when,
        score_contest,
        contest.id,
        job_id=f"score-contest-{contest.id}-{int(when.timestamp())}",
        retry=Retry(max=len(intervals), interval=intervals),
    )


def cancel_contest(contest: Contest) -> Contest:
    if contest.status in (ContestStatus.FINISHED, ContestStatus.CANCELLED):
        raise ContestError(f"This contest is already {contest.status_label.lower()}.")
    contest.status = ContestStatus.CANCELLED
    db.session.commit()
    return contest


def enter_contest(contest: Contest, user: User, club: Club | None = None) -> ContestEntry:
    """A reader joins a reader contest; a club's owner enters the club in a club contest."""
    if contest.status not in (ContestStatus.DRAFT, ContestStatus.OPEN) or contest.ends_at <= now_utc():
        raise ContestError("Entries are closed for this contest.")
    if contest.is_club_contest:
        if club is None:
            raise ContestError("Choose the club to enter.")
        from app.clubs.permissions import standing_in

        standing = standing_in(club, user)
        if standing.role != Role.OWNER and not user.is_admin:
            raise ContestError("Only the club's owner can enter it in a contest.")
        if club.closed_at is not None:
            raise ContestError("A closed club cannot enter contests.")
        entry = ContestEntry(contest_id=contest.id, club_id=club.id, entered_by_id=user.id)
    else:
        entry = ContestEntry(contest_id=contest.id, user_id=user.id, entered_by_id=user.id)
    db.session.add(entry)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise ContestError("Already entered.") from None
    forget_live(contest.id)
    return entry


# Without Redis, page views score the contests that have ended. SQLite ignores SELECT ... FOR UPDATE,
# so readers arriving together at the end would each score the contest: in that mode, score in one
# request at a time (the embedded default serves from one process; with Redis the scheduler scores).
_inline_scoring = threading.Lock()


def score_ended_contests(contest: Contest | None = None) -> None:
    """For the embedded default (no scheduler): score ``contest`` or every contest that has ended."""
    if current_app.config.get("REDIS_URL"):
        return
    with _inline_scoring:
        if contest is None:
            close_due()
        else:
            score_if_due(contest)


def close_due(now: datetime | None = None) -> list[int]:
    """Score every open contest whose window has ended, and finalise provisional results due."""
    now = now or now_utc()
    due = db.session.scalars(
        select(Contest.id).where(
            ((Contest.status == ContestStatus.OPEN) & (Contest.ends_at < now))
            | ((Contest.status == ContestStatus.SCORING) & (Contest.provisional_until <= now))
        )
    ).all()
    for contest_id in due:
        score_contest(contest_id, now=now)
    return list(due)


def score_if_due(contest: Contest) -> None:
    """Lazily score a contest whose end passed (for the embedded default, which has no scheduler)."""
    if current_app.config.get("REDIS_URL"):
        return
    now = now_utc()
    ended = contest.status == ContestStatus.OPEN and contest.ends_at < now
    # Provisional results must become final too, or they would stay provisional for ever.
    settled = contest.status == ContestStatus.SCORING and contest.provisional_until and contest.provisional_until <= now
    if ended or settled:
        score_contest(contest.id)


def score_contest(
    contest_id: int, *, now: datetime | None = None, rescore_by: str | None = None, note: str = ""
) -> str:
    """The scoring job. Safe to run any number of times."""
    now = now or now_utc()
    contest = db.session.scalar(
        select(Contest).where(Contest.id == contest_id).with_for_update().execution_options(populate_existing=True)
    )
    if contest is None or contest.status in (ContestStatus.DRAFT, ContestStatus.CANCELLED):
        db.session.rollback()
        return "nothing to score"
    if contest.status == ContestStatus.OPEN and contest.ends_at >= now:
        db.session.rollback()
        return "not over yet"
    if contest.status == ContestStatus.FINISHED and rescore_by is None:
        db.session.rollback()
        return "already finished"  # its emails, if a crash held them back, are the outbox sweep's
    if contest.status == ContestStatus.SCORING and contest.provisional_until and now < contest.provisional_until:
        db.session.rollback()
        return "provisional until " + contest.provisional_until.isoformat()

    standings = [s.as_dict() for s in compute_standings(contest)]
    winner = standings[0] if standings and standings[0]["total"] > 0 else None
    provisional_hours = int((contest.rules or {}).get("provisional_hours", 0))
    first_run = contest.status == ContestStatus.OPEN
    contest.standings = {
        "entrants": standings,
        "winner": winner,
        "scored_at": now.isoformat(),
        "provisional": first_run and provisional_hours > 0,
    }
    contest.scored_at = now
    db.session.add(
        ContestRun(
            contest_id=contest.id,
            kind="rescore" if rescore_by else "score",
            requested_by=rescore_by or "scheduler",
            note=note[:500],
            winner=winner["name"] if winner else None,
            standings=contest.standings,
        )
    )
    if first_run and provisional_hours > 0:
        contest.status = ContestStatus.SCORING
        contest.provisional_until = now + timedelta(hours=provisional_hours)
        db.session.commit()
        schedule_scoring(contest, at=contest.provisional_until)
        return "provisional"
    contest.status = ContestStatus.FINISHED
    contest.finished_at = contest.finished_at or now
    if rescore_by is None:
        _record_result_emails(contest, standings, winner)
    db.session.commit()
    return "rescored" if rescore_by else "finished"


def _result_recipients(contest: Contest, standings: list[dict]) -> dict[int, User]:
    """Who hears about each entrant's result: the club's owner, or the reader (one query)."""
    ids = [s["entrant_id"] for s in standings]
    if not ids:
        return {}
    if contest.is_club_contest:
        rows = db.session.execute(
            select(Membership.club_id, User)
            .join(User, User.id == Membership.user_id)
            .where(Membership.club_id.in_(ids), Membership.role == Role.OWNER)
        ).all()
        return {club_id: user for club_id, user in rows}
    return {user.id: user for user in db.session.scalars(select(User).where(User.id.in_(ids)))}


def _subject(pattern: str, title: str) -> str:
    """``pattern`` with the contest's title, the title shortened (…) when the whole would not fit
    an email's subject: a 200-character title made PostgreSQL refuse the results, and the job."""
    limit = EmailMessage.__table__.c.subject.type.length
    subject = pattern.format(title=title)
    if len(subject) > limit:
        subject = pattern.format(title=title[: len(title) - (len(subject) - limit) - 1].rstrip() + "…")
    return subject


def _record_result_emails(contest: Contest, standings: list[dict], winner: dict | None) -> None:
    """One results email per entrant and one winner email, each under its own key."""
    recipients = _result_recipients(contest, standings)
    messages = []
    for standing in standings:
        person = recipients.get(standing["entrant_id"])
        if person is None or person.deleted_at is not None:
            continue
        messages.append(
            dict(
                key=f"contest-results:{contest.id}:{standing['entrant_id']}",
                template="contest_results",
                to=person.email,
                subject=_subject("Results of “{title}”", contest.title),
                user=person,
                contest=contest,
                standing=standing,
                standings=standings,
                winner=winner,
            )
        )
        if winner is not None and standing["entrant_id"] == winner["entrant_id"]:
            messages.append(
                dict(
                    key=f"contest-winner:{contest.id}:{standing['entrant_id']}",
                    template="contest_winner",
                    to=person.email,
                    subject=_subject("You won “{title}”!", contest.title),
                    user=person,
                    contest=contest,
                    standing=standing,
                )
            )
    record_emails(messages)  # in bulk: one lookup, one COPY for the emails and one for the notifications


def rescore(contest: Contest, requested_by: str, note: str = "") -> str:
    """Recompute a finished contest's standings (e.g. after refunds); recorded, sends nothing."""
    if contest.status != ContestStatus.FINISHED:
        raise ContestError("Only a finished contest can be rescored.")
    return score_contest(contest.id, rescore_by=requested_by, note=note)


def flag_entry(contest: Contest, reading_log_id: int, flagged_by: User, reason: str) -> ContestFlag:
    """While results are provisional, an owner flags a suspicious reading-log entry for review."""
    if contest.status != ContestStatus.SCORING:
        raise ContestError("Entries can be flagged only while results are provisional.")
    if not reason.strip():
        raise ContestError("Say why the entry looks wrong.")
    if db.session.get(ReadingLog, reading_log_id) is None:
        raise ContestError("No such reading-log entry.")
    flag = ContestFlag(
        contest_id=contest.id, reading_log_id=reading_log_id, flagged_by_id=flagged_by.id, reason=reason.strip()[:500]
    )
    db.session.add(flag)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise ContestError("That entry is already flagged.") from None
    return flag


def review_flag(flag_id: int, reviewer: User, uphold: bool) -> ContestFlag:
    """An admin upholds a flag (the entry stops counting in that contest) or dismisses it."""
    flag = db.session.get(ContestFlag, flag_id)
    if flag is None or flag.status != ContestFlag.OPEN:
        raise ContestError("That flag was already reviewed.")
    flag.status = ContestFlag.UPHELD if uphold else ContestFlag.DISMISSED
    flag.reviewed_by_id = reviewer.id
    db.session.commit()
    return flag
