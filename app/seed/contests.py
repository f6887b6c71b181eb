"""Demo contests: reading logs, an open club contest, an open reader contest and a finished one.

Safe to run again: it adds nothing if contests exist.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from sqlalchemy import func, select

from app.contests.services import create_contest, enter_contest, open_contest, score_contest
from app.donations.fund import add_entry, lock_fund
from app.extensions import db
from app.models import (
    Club,
    Contest,
    ContestKind,
    ContestStatus,
    Donation,
    DonationStatus,
    FundEntry,
    Metric,
    ReadingGoal,
    ReadingLog,
    Scoring,
    User,
)

READS = [
    # email, title, author, pages, days ago
    ("reader@example.com", "Middlemarch", "George Eliot", 880, 1),
    ("reader@example.com", "The Moonstone", "Wilkie Collins", 528, 3),
    ("reader@example.com", "Persuasion", "Jane Austen", 249, 6),
    ("mina@example.com", "Germinal", "Émile Zola", 592, 2),
    ("mina@example.com", "Candide", "Voltaire", 144, 4),
    ("lou@example.com", "The Hound of the Baskervilles", "Arthur Conan Doyle", 256, 1),
    ("kofi@example.com", "The Trial", "Franz Kafka", 255, 2),
    ("kofi@example.com", "Siddhartha", "Hermann Hesse", 152, 5),
    ("sam@example.com", "Dune", "Frank Herbert", 688, 3),
    ("owner@example.com", "Les Misérables", "Victor Hugo", 1463, 9),
]


def seed_contests() -> str:
    if db.session.scalar(select(func.count(Contest.id))):
        return "Demo contests: already there, none added."
    users = {u.email: u for u in db.session.scalars(select(User))}
    clubs = {c.name: c for c in db.session.scalars(select(Club))}
    if "reader@example.com" not in users or len(clubs) < 3:
        return "Demo contests: skipped (run the demo users and clubs first)."
    now = datetime.now(UTC)
    for email, title, author, pages, days_ago in READS:
        if email in users:
            day = (now - timedelta(days=days_ago)).date()
            db.session.add(
                ReadingLog(
                    user_id=users[email].id,
                    title=title,
                    author=author,
                    pages=pages,
                    finished_on=day,
                    finished_at=datetime.combine(day, time(12), tzinfo=UTC),
                )
            )
    db.session.add(ReadingGoal(user_id=users["reader@example.com"].id, year=now.year, books=24))
    db.session.commit()

    # Finished: last month's fundraiser, with its results and winner.
    past = create_contest(
        title="October fundraiser",
        kind=ContestKind.CLUBS,
        metric=Metric.MONEY_DONATED,
        starts_at=now - timedelta(days=40),
        ends_at=now - timedelta(days=10),
        prize="A signed first edition for the winning club",
        provisional_hours=0,
        description="Which club could raise the most for its shelf?",
    )
    for name in ("Paris Page Turners", "Lyon Mystery Circle", "Brooklyn Sci-Fi Society"):
        db.session.add(_entry(past, clubs[name]))
    gifts = [
        ("Lyon Mystery Circle", "reader@example.com", 4500, 30),
        ("Paris Page Turners", "mina@example.com", 3000, 25),
        ("Brooklyn Sci-Fi Society", "sam@example.com", 1200, 20),
    ]
    for club_name, email, cents, days_ago in gifts:
        donation = Donation(
            club_id=clubs[club_name].id,
            user_id=users[email].id,
            amount_cents=cents,
            status=DonationStatus.PAID,
            gateway="simulated",
            paid_at=now - timedelta(days=days_ago),
            message="October drive",
        )
        db.session.add(donation)
        db.session.flush()
        lock_fund(donation.club_id)  # every paid donation is in its club's fund ledger
        entry = add_entry(
            donation.club_id, FundEntry.DONATION, cents, f"Donation #{donation.id}", donation_id=donation.id
        )
        entry.created_at = donation.paid_at  # the ledger line carries the gift's date, as a real one would
    past.status = ContestStatus.OPEN
    db.session.commit()
    score_contest(past.id)

    # Open: this month's club reading race (per member), and a reader contest.
    race = create_contest(
        title="November reading race",
        kind=ContestKind.CLUBS,
        metric=Metric.PAGES_READ,
        scoring=Scoring.PER_MEMBER,
        starts_at=now - timedelta(days=10),
        ends_at=now + timedelta(days=20),
        prize="The winning club picks next month's book",
        description="Pages read per active member. Log your books to move your club up!",
    )
    open_contest(race)
    for name in ("Paris Page Turners", "Lyon Mystery Circle", "Berlin Night Readers", "Brooklyn Sci-Fi Society"):
        db.session.add(_entry(race, clubs[name]))
    readers = create_contest(
        title="Winter readathon",
        kind=ContestKind.READERS,
        metric=Metric.BOOKS_READ,
        starts_at=now - timedelta(days=7),
        ends_at=now + timedelta(days=30),
        prize="A tote bag and eternal glory",
        description="Every book you finish counts. Join and log your reading.",
    )
    open_contest(readers)
    db.session.commit()
    for email in ("reader@example.com", "mina@example.com", "kofi@example.com"):
        enter_contest(readers, users[email])
    return "Demo contests: 1 finished (with results), 2 open, and reading logs."


def _entry(contest: Contest, club: Club):
    from app.models import ContestEntry

    return ContestEntry(contest_id=contest.id, club_id=club.id)
