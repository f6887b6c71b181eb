"""Scoring: windows, refunds, ties, per-member rules, idempotent results and emails."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.clubs.services import create_club, join_club
from app.contests.scoring import compute_standings
from app.contests.services import (
    ContestError,
    close_due,
    create_contest,
    enter_contest,
    flag_entry,
    open_contest,
    rescore,
    review_flag,
    score_contest,
)
from app.extensions import db
from app.models import (
    Contest,
    ContestKind,
    ContestRun,
    ContestStatus,
    Donation,
    DonationStatus,
    EmailMessage,
    Metric,
    ReadingLog,
    Scoring,
    ShelfBook,
)
from tests.helpers import make_user

START = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
END = START + timedelta(days=7)


@pytest.fixture
def people(app_ctx):
    return {
        name: make_user(email=f"{name}@example.com", name=name.title())
        for name in ("ada", "bo", "cy", "di", "ed", "fay")
    }


def club_with(owner, members, name):
    club = create_club(owner, name=name, city="Paris", country="France", visibility="public")
    for member in members:
        join_club(club, member)
    return club


def contest(kind=ContestKind.CLUBS, metric=Metric.MONEY_DONATED, scoring=Scoring.TOTAL, **kw):
    made = create_contest(
        title="Autumn drive",
        kind=kind,
        metric=metric,
        scoring=scoring,
        starts_at=START,
        ends_at=END,
        provisional_hours=kw.pop("provisional_hours", 0),
        **kw,
    )
    open_contest(made)
    return made


def donate(club, user, cents, at, refunded=0):
    db.session.add(
        Donation(
            club_id=club.id,
            user_id=user.id,
            amount_cents=cents,
            refunded_cents=refunded,
            status=DonationStatus.REFUNDED if refunded >= cents else DonationStatus.PAID,
            gateway="simulated",
            paid_at=at,
        )
    )
    db.session.commit()


def read(user, pages, at):
    db.session.add(
        ReadingLog(
            user_id=user.id,
            title="A book",
            author="Someone",
            pages=pages,
            finished_on=at.date(),
            finished_at=at,
            confirmed=True,
        )
    )
    db.session.commit()


def names(standings):
    return [(s.name, s.score) for s in standings]


def test_events_exactly_at_start_and_end_count_and_outside_do_not(people):
    paris = club_with(people["ada"], [], "Paris")
    lyon = club_with(people["bo"], [], "Lyon")
    c = contest()
    enter_contest(c, people["ada"], paris)
    enter_contest(c, people["bo"], lyon)
    donate(paris, people["cy"], 1000, START)  # exactly at the start: counts
    donate(paris, people["cy"], 2000, END)  # exactly at the end: counts
    donate(paris, people["cy"], 4000, START - timedelta(seconds=1))  # before: no
    donate(lyon, people["cy"], 8000, END + timedelta(seconds=1))  # after: no
    donate(lyon, people["di"], 500, START + timedelta(days=1))
    assert names(compute_standings(c)) == [("Paris", 3000), ("Lyon", 500)]


def test_a_refund_inside_the_window_removes_the_money(people):
    paris = club_with(people["ada"], [], "Paris")
    c = contest()
    enter_contest(c, people["ada"], paris)
    donate(paris, people["cy"], 5000, START + timedelta(hours=2), refunded=5000)
    donate(paris, people["cy"], 3000, START + timedelta(hours=3), refunded=1000)
    assert names(compute_standings(c)) == [("Paris", 2000)]


def test_a_contest_without_entrants_scores_to_nobody(people, inbox):
    c = contest()
    assert compute_standings(c) == []
    assert score_contest(c.id, now=END + timedelta(minutes=1)) == "finished"
    db.session.refresh(c)
    assert c.status == ContestStatus.FINISHED and c.standings["winner"] is None
    assert inbox.messages == []


def test_ties_go_to_participation_then_to_who_got_there_first(people):
    a, b, cl = (
        club_with(people["ada"], [people["cy"]], "Alpha"),
        club_with(people["bo"], [people["di"]], "Beta"),
        club_with(people["ed"], [people["fay"]], "Gamma"),
    )
    c = contest(metric=Metric.BOOKS_READ)
    for club, owner in ((a, "ada"), (b, "bo"), (cl, "ed")):
        enter_contest(c, people[owner], club)
    # Alpha: two books by two members (participation 100%), Beta and Gamma: two books by one member (50%).
    read(people["ada"], 100, START + timedelta(days=1))
    read(people["cy"], 100, START + timedelta(days=1))
    read(people["bo"], 100, START + timedelta(days=2))
    read(people["bo"], 100, START + timedelta(days=3))  # Beta reaches 2 on day 3
    read(people["ed"], 100, START + timedelta(days=1))
    read(people["ed"], 100, START + timedelta(days=2))  # Gamma reaches 2 on day 2: first
    standings = compute_standings(c)
    assert [s.name for s in standings] == ["Alpha", "Gamma", "Beta"]
    assert [s.rank for s in standings] == [1, 2, 3]
    assert standings[0].participation == 1.0 and standings[1].participation == 0.5


def test_per_member_scoring_with_a_floor_of_three(people):
    solo = club_with(people["ada"], [], "Solo")  # 1 member: divided by 3, not 1
    big = club_with(people["bo"], [people["cy"], people["di"], people["ed"]], "Big")  # 4 members
    c = contest(metric=Metric.PAGES_READ, scoring=Scoring.PER_MEMBER)
    enter_contest(c, people["ada"], solo)
    enter_contest(c, people["bo"], big)
    read(people["ada"], 900, START + timedelta(days=1))  # 900 / 3 = 300
    for name in ("bo", "cy", "di", "ed"):
        read(people[name], 350, START + timedelta(days=1))  # 1400 / 4 = 350
    assert names(compute_standings(c)) == [("Big", 350.0), ("Solo", 300.0)]


def test_reader_contests_count_each_readers_own_events(people):
    c = contest(kind=ContestKind.READERS, metric=Metric.BOOKS_DONATED)
    club = club_with(people["fay"], [], "Shelf")
    enter_contest(c, people["ada"])
    enter_contest(c, people["bo"])
    for giver, days in (("ada", 1), ("bo", 2), ("bo", 3)):
        db.session.add(
            ShelfBook(
                club_id=club.id,
                title="Gift",
                source="offer",
                given_by_id=people[giver].id,
                added_at=START + timedelta(days=days),
            )
        )
    db.session.add(
        ShelfBook(
            club_id=club.id,
            title="Bought",
            source="purchase",
            given_by_id=people["ada"].id,
            added_at=START + timedelta(days=1),
        )
    )  # fund purchases are not donations
    db.session.commit()
    assert names(compute_standings(c)) == [("Bo", 2), ("Ada", 1)]


def test_scoring_twice_gives_the_same_standings_and_one_email_each(people, inbox):
    paris, lyon = club_with(people["ada"], [], "Paris"), club_with(people["bo"], [], "Lyon")
    c = contest(prize="A shelf of classics")
    enter_contest(c, people["ada"], paris)
    enter_contest(c, people["bo"], lyon)
    donate(lyon, people["cy"], 7000, START + timedelta(days=1))
    donate(paris, people["cy"], 2000, START + timedelta(days=1))
    assert score_contest(c.id, now=START) == "not over yet"
    assert score_contest(c.id, now=END + timedelta(seconds=1)) == "finished"
    first = db.session.get(Contest, c.id).standings
    assert score_contest(c.id, now=END + timedelta(minutes=5)).startswith("already finished")
    db.session.expire_all()
    assert db.session.get(Contest, c.id).standings == first
    assert first["winner"]["name"] == "Lyon"
    winner_mail = inbox.wait_for("bo@example.com", count=2)
    assert sorted(m["Subject"] for m in winner_mail) == ["Results of “Autumn drive”", "You won “Autumn drive”!"]
    assert len(inbox.wait_for("ada@example.com")) == 1
    assert len(inbox.messages) == 3


def test_refunds_after_the_end_change_nothing_until_an_admin_rescores(people, inbox):
    paris, lyon = club_with(people["ada"], [], "Paris"), club_with(people["bo"], [], "Lyon")
    c = contest()
    enter_contest(c, people["ada"], paris)
    enter_contest(c, people["bo"], lyon)
    donate(lyon, people["cy"], 7000, START + timedelta(days=1))
    donate(paris, people["cy"], 2000, START + timedelta(days=1))
    score_contest(c.id, now=END + timedelta(seconds=1))
    lyon_gift = db.session.scalar(select(Donation).where(Donation.club_id == lyon.id))
    lyon_gift.refunded_cents, lyon_gift.status = 7000, DonationStatus.REFUNDED
    db.session.commit()
    close_due(now=END + timedelta(days=1))
    db.session.expire_all()
    assert db.session.get(Contest, c.id).standings["winner"]["name"] == "Lyon"
    sent_before = db.session.scalar(select(func.count(EmailMessage.id)))
    assert rescore(db.session.get(Contest, c.id), requested_by="admin@example.com", note="refund") == "rescored"
    db.session.expire_all()
    assert db.session.get(Contest, c.id).standings["winner"]["name"] == "Paris"
    run = db.session.scalars(select(ContestRun).where(ContestRun.kind == "rescore")).one()
    assert (run.requested_by, run.note, run.winner) == ("admin@example.com", "refund", "Paris")
    assert db.session.scalar(select(func.count(EmailMessage.id))) == sent_before  # a rescore sends nothing


def test_provisional_results_can_be_flagged_before_they_are_final(people, inbox):
    a, b = club_with(people["ada"], [people["cy"]], "Alpha"), club_with(people["bo"], [], "Beta")
    c = contest(metric=Metric.PAGES_READ, provisional_hours=24)
    enter_contest(c, people["ada"], a)
    enter_contest(c, people["bo"], b)
    read(people["cy"], 2900, START + timedelta(days=1))  # suspicious
    read(people["bo"], 300, START + timedelta(days=1))
    assert score_contest(c.id, now=END + timedelta(seconds=1)) == "provisional"
    db.session.refresh(c)
    assert c.status == ContestStatus.SCORING and c.standings["winner"]["name"] == "Alpha"
    assert inbox.messages == []  # nothing is announced while provisional
    log_id = db.session.scalar(select(ReadingLog.id).where(ReadingLog.pages == 2900))
    flag = flag_entry(c, log_id, people["bo"], "2,900 pages in a day?")
    with pytest.raises(ContestError):
        flag_entry(c, log_id, people["bo"], "again")
    review_flag(flag.id, people["fay"], uphold=True)
    assert score_contest(c.id, now=END + timedelta(hours=2)).startswith("provisional until")
    assert close_due(now=END + timedelta(hours=25)) == [c.id]
    db.session.expire_all()
    final = db.session.get(Contest, c.id)
    assert final.status == ContestStatus.FINISHED and final.standings["winner"]["name"] == "Beta"
    assert "You won" in inbox.wait_for("bo@example.com", count=2)[-1]["Subject"] or any(
        "You won" in m["Subject"] for m in inbox.to("bo@example.com")
    )


def test_the_window_is_checked_when_a_contest_is_created(app_ctx):
    with pytest.raises(ContestError, match="end after it starts"):
        create_contest(title="x", kind=ContestKind.CLUBS, metric=Metric.BOOKS_READ, starts_at=END, ends_at=START)
    with pytest.raises(ContestError, match="Per-member scoring is for club contests"):
        create_contest(
            title="x",
            kind=ContestKind.READERS,
            metric=Metric.BOOKS_READ,
            scoring=Scoring.PER_MEMBER,
            starts_at=START,
            ends_at=END,
        )


def test_outside_donors_add_money_but_not_participation(people):
    paris = club_with(people["ada"], [people["bo"]], "Paris")  # 2 members
    c = contest()
    enter_contest(c, people["ada"], paris)
    for outsider in ("cy", "di", "ed"):
        donate(paris, people[outsider], 1000, START + timedelta(hours=1))
    donate(paris, people["bo"], 500, START + timedelta(hours=2))
    (standing,) = compute_standings(c)
    assert standing.total == 3500
    assert (standing.participants, standing.participation) == (1, 0.5)


def test_several_contests_ranked_in_one_query_match_each_ranked_alone(people, count_queries):
    from app.contests.scoring import compute_many

    paris = club_with(people["ada"], [people["cy"]], "Paris")
    lyon = club_with(people["bo"], [people["di"]], "Lyon")
    contests = []
    for kind in (ContestKind.CLUBS, ContestKind.READERS):
        for metric in (Metric.BOOKS_READ, Metric.PAGES_READ, Metric.MONEY_DONATED, Metric.BOOKS_DONATED):
            scoring = Scoring.PER_MEMBER if kind == ContestKind.CLUBS and metric == Metric.PAGES_READ else Scoring.TOTAL
            made = contest(kind=kind, metric=metric, scoring=scoring)
            if kind == ContestKind.CLUBS:
                enter_contest(made, people["ada"], paris)
                enter_contest(made, people["bo"], lyon)
            else:
                for name in ("cy", "di", "ed"):
                    enter_contest(made, people[name])
            contests.append(made)
    at = START + timedelta(hours=5)
    read(people["cy"], 300, at)
    read(people["di"], 120, at)
    read(people["di"], 80, at + timedelta(hours=1))
    donate(paris, people["di"], 2500, at)
    donate(lyon, people["cy"], 900, at)
    db.session.add(ShelfBook(club_id=lyon.id, title="Gift", source="gift", given_by_id=people["ed"].id, added_at=at))
    db.session.commit()
    for made in contests:
        db.session.refresh(made)  # loaded before counting: the count is of the ranking alone
    with count_queries() as q:
        together = compute_many(contests)
    assert q.count == 1
    assert together == {c.id: compute_standings(c) for c in contests}
    assert names(together[contests[1].id]) == [("Paris", 100.0), ("Lyon", 66.6667)]  # pages per member, floor 3
