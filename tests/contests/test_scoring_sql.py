"""The standings SQL against hand-computed results for every metric, and its statement count.

Each test builds a small world, works out on paper what the leaderboard must show (totals,
participation, ranks, ties) and compares. Refunded, failed and pending money and unconfirmed
reading never count.
"""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event

from app.clubs.services import create_club, join_club
from app.contests.scoring import compute_standings
from app.contests.services import create_contest, enter_contest, open_contest, score_contest
from app.extensions import db
from app.models import (
    ContestKind,
    Donation,
    DonationStatus,
    Metric,
    ReadingLog,
    Scoring,
    ShelfBook,
)
from tests.helpers import make_user

START = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
END = START + timedelta(days=7)


def day(n: float) -> datetime:
    return START + timedelta(days=n)


@pytest.fixture
def people(app_ctx):
    return {
        name: make_user(email=f"{name}@example.com", name=name.title())
        for name in ("ada", "bo", "cy", "di", "ed", "fay", "gus", "hal")
    }


def club_with(owner, members, name):
    club = create_club(owner, name=name, city="Paris", country="France", visibility="public")
    for member in members:
        join_club(club, member)
    return club


def contest(kind=ContestKind.CLUBS, metric=Metric.MONEY_DONATED, scoring=Scoring.TOTAL):
    made = create_contest(
        title="Autumn drive",
        kind=kind,
        metric=metric,
        scoring=scoring,
        starts_at=START,
        ends_at=END,
        provisional_hours=0,
    )
    open_contest(made)
    return made


def donate(club, user, cents, at, status=DonationStatus.PAID, refunded=0):
    db.session.add(
        Donation(
            club_id=club.id,
            user_id=user.id,
            amount_cents=cents,
            refunded_cents=refunded,
            status=status,
            gateway="simulated",
            paid_at=at,
        )
    )
    db.session.commit()


def read(user, pages, at, confirmed=True):
    db.session.add(
        ReadingLog(
            user_id=user.id,
            title="A book",
            pages=pages,
            finished_on=at.date(),
            finished_at=at,
            confirmed=confirmed,
        )
    )
    db.session.commit()


def give_book(club, giver, at, source="offer"):
    db.session.add(ShelfBook(club_id=club.id, title="Gift", source=source, given_by_id=giver.id, added_at=at))
    db.session.commit()


def table(standings):
    """What the leaderboard shows: rank, name, score, total, members, participants, participation, reached."""
    return [
        (
            s.rank,
            s.name,
            s.score,
            s.total,
            s.members,
            s.participants,
            s.participation,
            s.reached_at and datetime.fromisoformat(s.reached_at),
        )
        for s in standings
    ]


def test_money_raised_by_clubs_counts_net_received_money_and_breaks_ties(people):
    p = people
    alpha = club_with(p["ada"], [p["cy"]], "Alpha")
    beta = club_with(p["bo"], [p["di"]], "Beta")
    gamma = club_with(p["ed"], [], "Gamma")
    delta = club_with(p["gus"], [], "Delta")
    epsilon = club_with(p["hal"], [], "Epsilon")
    c = contest()
    for club, owner in ((alpha, "ada"), (beta, "bo"), (gamma, "ed"), (delta, "gus"), (epsilon, "hal")):
        enter_contest(c, p[owner], club)
    # Alpha: 3000 + 2500 + (4000 refunded in full: 0) + (3000 half refunded: 1500) = 7000, both members gave.
    donate(alpha, p["ada"], 3000, day(1))
    donate(alpha, p["cy"], 2500, day(2))
    donate(alpha, p["cy"], 4000, day(0.5), DonationStatus.REFUNDED, refunded=4000)
    donate(alpha, p["ada"], 3000, day(1.5), DonationStatus.REFUNDED, refunded=1500)
    donate(alpha, p["cy"], 9000, day(1), DonationStatus.FAILED)  # never received
    donate(alpha, p["ada"], 9000, day(1), DonationStatus.PENDING)
    donate(alpha, p["ada"], 9000, day(1), DonationStatus.REFUND_DUE)  # received, but going back
    # Gamma: 7000 from its one member, reached later than Alpha: same score and participation, second.
    donate(gamma, p["ed"], 7000, day(3))
    # Beta: 7000 too, but an outsider gave most of it: half its members took part, third.
    donate(beta, p["bo"], 1000, day(1))
    donate(beta, p["fay"], 6000, day(2))
    donate(beta, p["di"], 5000, END + timedelta(seconds=1))  # after the window
    # Delta and Epsilon: nothing counted (Delta's money is refunded in full): tied, both fourth.
    donate(delta, p["gus"], 800, day(1), DonationStatus.REFUNDED, refunded=800)

    assert table(compute_standings(c)) == [
        (1, "Alpha", 7000, 7000, 2, 2, 1.0, day(2)),
        (2, "Gamma", 7000, 7000, 1, 1, 1.0, day(3)),
        (3, "Beta", 7000, 7000, 2, 1, 0.5, day(2)),
        # A refund leaves its moment: the refunded gift still took part, for nothing.
        (4, "Delta", 0, 0, 1, 1, 1.0, day(1)),
        (5, "Epsilon", 0, 0, 1, 0, 0.0, None),
    ]


def test_money_raised_by_readers_counts_what_each_gave_to_any_club(people):
    p = people
    paris = club_with(p["fay"], [], "Paris")
    lyon = club_with(p["gus"], [], "Lyon")
    c = contest(kind=ContestKind.READERS)
    for name in ("ada", "bo", "cy", "di"):
        enter_contest(c, p[name])
    donate(paris, p["ada"], 1200, day(1))
    donate(lyon, p["ada"], 800, day(2), DonationStatus.REFUNDED, refunded=300)  # 500 kept
    donate(paris, p["bo"], 1700, day(1))
    donate(paris, p["cy"], 5000, day(1), DonationStatus.FAILED)
    donate(paris, p["di"], 1700, day(1))  # the same total at the same moment as Bo: tied
    # Ada reached 1700 later than Bo and Di, who are tied in every way: they share the first place.
    assert table(compute_standings(c)) == [
        (1, "Bo", 1700, 1700, 1, 1, 1.0, day(1)),
        (1, "Di", 1700, 1700, 1, 1, 1.0, day(1)),
        (3, "Ada", 1700, 1700, 1, 1, 1.0, day(2)),
        (4, "Cy", 0, 0, 1, 0, 0.0, None),
    ]


def test_books_donated_count_offers_and_gifts_not_purchases(people):
    p = people
    alpha = club_with(p["ada"], [p["cy"], p["di"]], "Alpha")
    beta = club_with(p["bo"], [], "Beta")
    c = contest(metric=Metric.BOOKS_DONATED)
    enter_contest(c, p["ada"], alpha)
    enter_contest(c, p["bo"], beta)
    give_book(alpha, p["cy"], day(1))
    give_book(alpha, p["fay"], day(2), source="gift")  # an outsider's gift counts, not as a member
    give_book(alpha, p["ada"], day(1), source="purchase")  # bought from the fund: not a donation
    give_book(beta, p["bo"], day(1))
    give_book(beta, p["bo"], day(3))
    give_book(beta, p["bo"], START - timedelta(seconds=1))  # before the window
    assert table(compute_standings(c)) == [
        (1, "Beta", 2, 2, 1, 1, 1.0, day(3)),
        (2, "Alpha", 2, 2, 3, 1, 0.3333, day(2)),
    ]


def test_books_and_pages_read_count_active_members_of_every_club_they_are_in(people):
    p = people
    alpha = club_with(p["ada"], [p["cy"]], "Alpha")
    beta = club_with(p["bo"], [p["cy"], p["di"]], "Beta")  # Cy reads for both clubs
    read(p["ada"], 300, day(1))
    read(p["ada"], 200, day(2))
    read(p["cy"], 400, day(3))
    read(p["di"], 900, day(1), confirmed=False)  # not confirmed: does not count
    read(p["bo"], 50, END + timedelta(seconds=1))
    for metric, expected in (
        (
            Metric.BOOKS_READ,
            [(1, "Alpha", 3, 3, 2, 2, 1.0, day(3)), (2, "Beta", 1, 1, 3, 1, 0.3333, day(3))],
        ),
        (
            Metric.PAGES_READ,
            [(1, "Alpha", 900, 900, 2, 2, 1.0, day(3)), (2, "Beta", 400, 400, 3, 1, 0.3333, day(3))],
        ),
    ):
        c = contest(metric=metric)
        enter_contest(c, p["ada"], alpha)
        enter_contest(c, p["bo"], beta)
        assert table(compute_standings(c)) == expected


def test_pages_read_per_member_divide_by_at_least_the_floor(people):
    p = people
    solo = club_with(p["ada"], [], "Solo")  # 1 member, divided by 3
    four = club_with(p["bo"], [p["cy"], p["di"], p["ed"]], "Four")  # divided by 4
    read(p["ada"], 900, day(1))
    for name, pages in (("bo", 300), ("cy", 300), ("di", 300), ("ed", 300)):
        read(p[name], pages, day(2))
    c = contest(metric=Metric.PAGES_READ, scoring=Scoring.PER_MEMBER)
    enter_contest(c, p["ada"], solo)
    enter_contest(c, p["bo"], four)
    # 300 each: a tie on score; Four's members all took part, as did Solo's one: then the earlier.
    assert table(compute_standings(c)) == [
        (1, "Solo", 300.0, 900, 1, 1, 1.0, day(1)),
        (2, "Four", 300.0, 1200, 4, 4, 1.0, day(2)),
    ]


def _clubs_in_a_contest(people, count):
    c = contest()
    owners = [make_user(email=f"owner{c.id}.{i}@example.com", name=f"Owner {i}") for i in range(count)]
    for i, owner in enumerate(owners):
        club = club_with(owner, [], f"Club {c.id}.{i}")
        enter_contest(c, owner, club)
        donate(club, owner, 100 * (i + 1), day(1))
        donate(club, people["fay"], 50, day(2))
    return c


@pytest.fixture
def statements_of(app, count_queries):
    """The SQL statements the scoring job runs up to its commit (the emails' delivery after it,
    inline without Redis or queued with it, is the outbox's and not counted)."""

    def run(contest_id):
        seen: list[str] = []
        committed = []

        def before(conn, cursor, statement, *args):
            if not committed and not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE")):
                seen.append(statement)

        def after_commit(session):
            committed.append(True)

        engine = db.engine
        event.listen(engine, "before_cursor_execute", before)
        event.listen(db.session, "after_commit", after_commit)
        try:
            assert score_contest(contest_id, now=END + timedelta(minutes=1)) == "finished"
        finally:
            event.remove(engine, "before_cursor_execute", before)
            event.remove(db.session, "after_commit", after_commit)
        return seen

    return run


def test_standings_are_one_statement_whatever_the_number_of_clubs(people, count_queries):
    small, large = _clubs_in_a_contest(people, 2), _clubs_in_a_contest(people, 7)
    counts = []
    for c in (small, large):
        db.session.refresh(c)  # the contest is loaded already, as it is when the job ranks it
        with count_queries() as q:
            standings = compute_standings(c)
        counts.append(q.count)
    assert counts == [1, 1]
    assert [s.total for s in standings][:2] == [750, 650]


def _scoring_statements(people, statements_of, clubs):
    c = _clubs_in_a_contest(people, clubs)
    return statements_of(c.id)


def _own(statements):
    """Leave out the outbox's writes: app.notifications records the emails and their notifications
    with statements of its own (lookups, the ids, the bulk INSERTs; COPY on PostgreSQL, unseen here)."""
    outbox = (
        "SELECT email_messages.",
        "SELECT notifications.",
        "SELECT nextval",
        "INSERT INTO notifications",
        "INSERT INTO email_messages",
    )
    return [s for s in statements if not s.lstrip().startswith(outbox)]


def test_the_scoring_job_runs_as_many_of_its_own_statements_for_7_clubs_as_for_2(people, statements_of):
    small = _scoring_statements(people, statements_of, 2)
    large = _scoring_statements(people, statements_of, 7)
    assert len(_own(large)) == len(_own(small))


def test_the_scoring_job_records_its_emails_with_as_many_statements_for_7_clubs_as_for_2(people, statements_of):
    """The outbox looks up a contest's notifications in one query and inserts the emails and the
    notifications in bulk (app.notifications.email.record_emails): on PostgreSQL (one COPY each) the
    whole job is the same number of statements. SQLite inserts the emails one statement each (to
    return their ids in order), so there only the lookups are compared."""
    small = _scoring_statements(people, statements_of, 2)
    large = _scoring_statements(people, statements_of, 7)

    def lookups(statements):
        return [s for s in statements if s.lstrip().startswith("SELECT notifications")]

    assert len(lookups(large)) == len(lookups(small)) <= 1
    if db.engine.dialect.name == "postgresql":
        assert len(large) == len(small)


def test_two_money_contests_ranked_together_match_each_ranked_alone(people, count_queries):
    from app.contests.scoring import compute_many

    p = people
    alpha, beta = club_with(p["ada"], [], "Alpha"), club_with(p["bo"], [], "Beta")
    clubs, readers = contest(), contest(kind=ContestKind.READERS)
    enter_contest(clubs, p["ada"], alpha)
    enter_contest(clubs, p["bo"], beta)
    enter_contest(readers, p["cy"])
    donate(alpha, p["cy"], 700, day(1))
    donate(beta, p["bo"], 900, day(1), DonationStatus.REFUNDED, refunded=400)
    db.session.refresh(clubs)
    db.session.refresh(readers)
    with count_queries() as q:
        together = compute_many([clubs, readers])
    assert q.count == 1
    assert table(together[clubs.id]) == table(compute_standings(clubs))
    assert table(together[readers.id]) == [(1, "Cy", 700, 700, 1, 1, 1.0, day(1))]
