"""Scoring where one value is not enough: per-member ranking, each reader's own money, tied ranks,
the reading-log window and confirmation, members who are not active, and the rule in words.

Found by mutation testing (issue 10): each test here fails if the scoring query or the ranking
loses one of its conditions.
"""

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.contests.scoring import compute_standings, formula
from app.contests.services import enter_contest
from app.extensions import db
from app.models import ContestFlag, ContestKind, Membership, MemberStatus, Metric, ReadingLog, Scoring, ShelfBook
from tests.contests.test_scoring import END, START, club_with, contest, donate, read
from tests.helpers import make_user


@pytest.fixture
def people(app_ctx):
    return {
        name: make_user(email=f"{name}@example.com", name=name.title())
        for name in ("ada", "bo", "cy", "di", "ed", "fay")
    }


def standings_of(c):
    return [
        (s.rank, s.name, s.score, s.total, s.members, s.participants, s.participation) for s in compute_standings(c)
    ]


def read_unconfirmed(user, pages, at):
    db.session.add(
        ReadingLog(
            user_id=user.id,
            title="A book",
            author="Someone",
            pages=pages,
            finished_on=at.date(),
            finished_at=at,
            confirmed=False,
        )
    )
    db.session.commit()


def gift(club, giver, at, source="offer"):
    db.session.add(ShelfBook(club_id=club.id, title="Gift", source=source, given_by_id=giver.id, added_at=at))
    db.session.commit()


def set_status(club, user, status):
    membership = db.session.scalar(
        select(Membership).where(Membership.club_id == club.id, Membership.user_id == user.id)
    )
    membership.status = status
    db.session.commit()


def test_per_member_contests_rank_by_the_per_member_score_not_the_raw_total(people):
    # Big reads more pages in all (1200) but less per member (1200 / 6 = 200) than Small (900 / 3 = 300).
    big = club_with(people["ada"], [people["bo"], people["cy"], people["di"], people["ed"], people["fay"]], "Big")
    gus, hal, ivy = (make_user(email=f"{n}@example.com", name=n.title()) for n in ("gus", "hal", "ivy"))
    small = club_with(gus, [hal, ivy], "Small")
    c = contest(metric=Metric.PAGES_READ, scoring=Scoring.PER_MEMBER)
    enter_contest(c, people["ada"], big)
    enter_contest(c, gus, small)
    for name in ("ada", "bo", "cy", "di", "ed", "fay"):
        read(people[name], 200, START + timedelta(days=1))
    for reader in (gus, hal, ivy):
        read(reader, 300, START + timedelta(days=2))
    assert standings_of(c) == [
        (1, "Small", 300.0, 900, 3, 3, 1.0),
        (2, "Big", 200.0, 1200, 6, 6, 1.0),
    ]


def test_the_member_floor_is_the_contests_own(people):
    solo = club_with(people["ada"], [], "Solo")
    pair = club_with(people["bo"], [people["cy"]], "Pair")
    c = contest(metric=Metric.PAGES_READ, scoring=Scoring.PER_MEMBER, member_floor=1)
    enter_contest(c, people["ada"], solo)
    enter_contest(c, people["bo"], pair)
    read(people["ada"], 500, START + timedelta(days=1))  # 500 / max(1, 1)
    read(people["bo"], 300, START + timedelta(days=1))
    read(people["cy"], 300, START + timedelta(days=1))  # 600 / 2 = 300
    assert [(s.name, s.score) for s in compute_standings(c)] == [("Solo", 500.0), ("Pair", 300.0)]


def test_per_member_scores_and_participation_keep_four_decimals(people):
    trio = club_with(people["ada"], [people["bo"], people["cy"]], "Trio")
    c = contest(metric=Metric.BOOKS_READ, scoring=Scoring.PER_MEMBER)
    enter_contest(c, people["ada"], trio)
    read(people["ada"], 100, START + timedelta(days=1))  # 1 book by 1 of 3 members
    (standing,) = compute_standings(c)
    assert (standing.score, standing.participation) == (0.3333, 0.3333)


def test_a_reader_money_contest_credits_each_reader_with_their_own_donations(people):
    paris = club_with(people["fay"], [], "Paris")
    lyon = club_with(people["ed"], [], "Lyon")
    c = contest(kind=ContestKind.READERS, metric=Metric.MONEY_DONATED)
    enter_contest(c, people["ada"])
    enter_contest(c, people["bo"])
    enter_contest(c, people["cy"])
    donate(paris, people["ada"], 1500, START + timedelta(days=1))
    donate(lyon, people["ada"], 1000, START + timedelta(days=2), refunded=400)  # net 600
    donate(paris, people["bo"], 3000, START + timedelta(days=1))
    donate(paris, people["di"], 9000, START + timedelta(days=1))  # not an entrant: counts for nobody
    donate(paris, people["cy"], 5000, START - timedelta(days=1))  # before the window
    assert standings_of(c) == [
        (1, "Bo", 3000.0, 3000, 1, 1, 1.0),
        (2, "Ada", 2100.0, 2100, 1, 1, 1.0),
        (3, "Cy", 0.0, 0, 1, 0, 0.0),
    ]
    by_name = {s.name: s for s in compute_standings(c)}
    assert by_name["Ada"].reached_at == (START + timedelta(days=2)).isoformat()
    assert by_name["Cy"].reached_at is None


def test_a_reader_reading_contest_counts_only_their_confirmed_logs_inside_the_window(people):
    c = contest(kind=ContestKind.READERS, metric=Metric.PAGES_READ)
    enter_contest(c, people["ada"])
    enter_contest(c, people["bo"])
    read(people["ada"], 100, START)  # at the start: counts
    read(people["ada"], 200, END)  # at the end: counts
    read(people["ada"], 400, START - timedelta(seconds=1))
    read(people["ada"], 800, END + timedelta(seconds=1))
    read_unconfirmed(people["ada"], 1600, START + timedelta(days=1))
    read(people["bo"], 250, START + timedelta(days=1))
    read(people["cy"], 5000, START + timedelta(days=1))  # not an entrant
    assert [(s.name, s.total) for s in compute_standings(c)] == [("Ada", 300), ("Bo", 250)]


def test_club_reading_counts_confirmed_logs_of_active_members_inside_the_window(people):
    paris = club_with(people["ada"], [people["bo"], people["cy"]], "Paris")
    set_status(paris, people["cy"], MemberStatus.BANNED)
    c = contest(metric=Metric.BOOKS_READ)
    enter_contest(c, people["ada"], paris)
    read(people["ada"], 100, START)
    read(people["bo"], 100, END)
    read(people["bo"], 100, END + timedelta(seconds=1))
    read(people["ada"], 100, START - timedelta(seconds=1))
    read_unconfirmed(people["bo"], 100, START + timedelta(days=1))
    read(people["cy"], 100, START + timedelta(days=1))  # banned: neither a book nor a member
    read(people["di"], 100, START + timedelta(days=1))  # not a member
    assert standings_of(c) == [(1, "Paris", 2.0, 2, 2, 2, 1.0)]


def test_equal_entrants_share_a_rank_and_the_next_one_skips(people):
    a = club_with(people["ada"], [], "Alpha")
    b = club_with(people["bo"], [], "Beta")
    g = club_with(people["cy"], [], "Gamma")
    d = club_with(people["di"], [], "Delta")
    c = contest()
    for club, owner in ((a, "ada"), (b, "bo"), (g, "cy"), (d, "di")):
        enter_contest(c, people[owner], club)
    same_moment = START + timedelta(days=1)
    donate(b, people["ed"], 2000, same_moment)
    donate(g, people["ed"], 2000, same_moment)
    donate(a, people["ed"], 500, same_moment)
    # Beta and Gamma tie on everything: same rank, listed by name; Alpha is third, Delta (nothing) fourth.
    assert [(s.rank, s.name) for s in compute_standings(c)] == [(1, "Beta"), (1, "Gamma"), (3, "Alpha"), (4, "Delta")]


def test_a_tie_on_score_alone_is_no_shared_rank(people):
    a = club_with(people["ada"], [], "Alpha")
    b = club_with(people["bo"], [], "Beta")
    c = contest()
    enter_contest(c, people["ada"], a)
    enter_contest(c, people["bo"], b)
    donate(a, people["ed"], 2000, START + timedelta(days=2))
    donate(b, people["ed"], 2000, START + timedelta(days=1))  # Beta got there first
    assert [(s.rank, s.name) for s in compute_standings(c)] == [(1, "Beta"), (2, "Alpha")]


def test_entrants_without_events_come_last_in_name_order(people):
    c = contest(kind=ContestKind.READERS, metric=Metric.BOOKS_READ)
    for name in ("di", "bo", "ada"):
        enter_contest(c, people[name])
    read(people["di"], 10, START + timedelta(days=1))
    assert [(s.rank, s.name, s.total, s.reached_at) for s in compute_standings(c)] == [
        (1, "Di", 1, (START + timedelta(days=1)).isoformat()),
        (2, "Ada", 0, None),
        (2, "Bo", 0, None),
    ]


def test_books_given_to_a_club_count_offers_and_gifts_inside_the_window(people):
    paris = club_with(people["ada"], [people["bo"]], "Paris")
    lyon = club_with(people["cy"], [], "Lyon")
    c = contest(metric=Metric.BOOKS_DONATED)
    enter_contest(c, people["ada"], paris)
    enter_contest(c, people["cy"], lyon)
    gift(paris, people["bo"], START)
    gift(paris, people["di"], END, source="gift")  # an outsider's gift counts for the club
    gift(paris, people["bo"], START - timedelta(seconds=1))
    gift(paris, people["bo"], END + timedelta(seconds=1))
    gift(paris, people["bo"], START + timedelta(days=1), source="purchase")
    gift(lyon, people["cy"], START + timedelta(days=1))
    assert standings_of(c) == [(1, "Paris", 2.0, 2, 2, 1, 0.5), (2, "Lyon", 1.0, 1, 1, 1, 1.0)]


def test_a_standing_reads_as_a_dict(people):
    paris = club_with(people["ada"], [], "Paris")
    c = contest()
    enter_contest(c, people["ada"], paris)
    donate(paris, people["ada"], 1234, START)
    assert compute_standings(c)[0].as_dict() == {
        "rank": 1,
        "entrant_id": paris.id,
        "name": "Paris",
        "score": 1234.0,
        "total": 1234,
        "members": 1,
        "participants": 1,
        "participation": 1.0,
        "reached_at": START.isoformat(),
    }


@pytest.mark.parametrize(
    ("kind", "metric", "scoring", "words"),
    [
        (
            ContestKind.CLUBS,
            Metric.PAGES_READ,
            Scoring.PER_MEMBER,
            "Score = pages read by the club ÷ its active members (counted as at least 3, "
            "so a tiny club cannot win on one reader).",
        ),
        (ContestKind.CLUBS, Metric.BOOKS_READ, Scoring.TOTAL, "Score = total books read by the club's active members."),
        (ContestKind.CLUBS, Metric.PAGES_READ, Scoring.TOTAL, "Score = total pages read by the club's active members."),
        (ContestKind.CLUBS, Metric.MONEY_DONATED, Scoring.TOTAL, "Score = total money donated to the club."),
        (ContestKind.CLUBS, Metric.BOOKS_DONATED, Scoring.TOTAL, "Score = total books donated to the club."),
        (ContestKind.READERS, Metric.MONEY_DONATED, Scoring.TOTAL, "Score = your total money donated."),
    ],
)
def test_the_contest_page_states_the_rule_in_words(app_ctx, kind, metric, scoring, words):
    assert formula(contest(kind=kind, metric=metric, scoring=scoring)) == words


def flag(c, log, status, by):
    db.session.add(
        ContestFlag(contest_id=c.id, reading_log_id=log.id, flagged_by_id=by.id, reason="Too fast?", status=status)
    )
    db.session.commit()


def test_only_a_flag_upheld_in_this_contest_removes_a_reading_log(people):
    paris = club_with(people["ada"], [people["bo"]], "Paris")
    spring = contest(metric=Metric.PAGES_READ)
    autumn = contest(metric=Metric.PAGES_READ)
    enter_contest(spring, people["ada"], paris)
    enter_contest(autumn, people["ada"], paris)
    for pages in (100, 200, 400):
        read(people["bo"], pages, START + timedelta(days=1))
    logs = {log.pages: log for log in db.session.scalars(select(ReadingLog))}
    flag(spring, logs[100], ContestFlag.UPHELD, people["fay"])  # removed from spring only
    flag(autumn, logs[200], ContestFlag.OPEN, people["fay"])  # still under review: counts
    flag(autumn, logs[400], ContestFlag.DISMISSED, people["fay"])  # looked at and kept: counts
    assert [s.total for s in compute_standings(spring)] == [600]
    assert [s.total for s in compute_standings(autumn)] == [700]


def test_donors_who_are_not_active_members_of_the_club_add_money_once_and_no_participation(people):
    paris = club_with(people["ada"], [people["bo"], people["cy"]], "Paris")
    set_status(paris, people["cy"], MemberStatus.BANNED)  # banned since: gives like an outsider
    club_with(people["di"], [people["ed"]], "Lyon")
    club_with(people["fay"], [people["ed"]], "Nice")  # Ed belongs to two other clubs
    c = contest()
    enter_contest(c, people["ada"], paris)
    donate(paris, people["cy"], 1000, START + timedelta(hours=1))
    donate(paris, people["ed"], 2000, START + timedelta(hours=2))
    donate(paris, people["bo"], 500, START + timedelta(hours=3))
    assert standings_of(c) == [(1, "Paris", 3500.0, 3500, 2, 1, 0.5)]
