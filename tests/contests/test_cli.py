"""``flask contests``: create, list, show, open, cancel, close-due, rescore. Bad input: exit 1, one line."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from app.clubs.services import create_club
from app.contests.services import enter_contest
from app.extensions import db
from app.models import Club, Contest, ContestRun, ContestStatus, Donation, DonationStatus, User
from tests.helpers import make_user

NOW = datetime.now(UTC).replace(microsecond=0)


def run(app, *args):
    return app.test_cli_runner().invoke(args=["contests", *args])


def one_line_error(result, text: str) -> None:
    assert result.exit_code == 1, result.output
    assert result.output.strip().count("\n") == 0, result.output
    assert result.output.startswith("Error: ") and text in result.output, result.output


def create(app, *extra, kind="clubs", metric="money_donated", starts=None, ends=None):
    starts = starts or (NOW - timedelta(days=1)).isoformat()
    ends = ends or (NOW + timedelta(days=6)).isoformat()
    return run(
        app, "create", "--title", "Giving week", "--kind", kind, "--metric", metric,
        "--starts", starts, "--ends", ends, *extra,
    )  # fmt: skip


def created_id(result) -> int:
    assert result.exit_code == 0, result.output
    return int(re.search(r"#(\d+)", result.output).group(1))


@pytest.fixture
def clubs(app):
    with app.app_context():
        ada = make_user(email="ada@example.com", name="Ada")
        bo = make_user(email="bo@example.com", name="Bo")
        make_user(email="admin@example.com", name="Admin", is_admin=True)
        paris = create_club(ada, name="Paris Readers", city="Paris", country="France")
        lyon = create_club(bo, name="Lyon Readers", city="Lyon", country="France")
        return {"ada": ada.id, "bo": bo.id, "paris": paris.id, "lyon": lyon.id, "paris_slug": paris.slug}


def test_create_takes_iso_times_with_an_offset_z_or_none(app):
    result = create(
        app,
        "--prize",
        "A reading lamp",
        "--member-floor",
        "4",
        "--provisional-hours",
        "12",
        starts="2030-03-01T09:00+02:00",
        ends="2030-03-31T23:59:59Z",
    )
    contest_id = created_id(result)
    assert "Created draft contest" in result.output and "2030-03-01 07:00 UTC to 2030-03-31 23:59 UTC" in result.output
    assert f"flask contests open {contest_id}" in result.output
    naive = created_id(create(app, starts="2030-04-01T00:00", ends="2030-04-02T00:00"))
    with app.app_context():
        contest = db.session.get(Contest, contest_id)
        assert contest.starts_at == datetime(2030, 3, 1, 7, 0, tzinfo=UTC)
        assert contest.ends_at == datetime(2030, 3, 31, 23, 59, 59, tzinfo=UTC)
        assert contest.prize == "A reading lamp" and contest.status == ContestStatus.DRAFT
        assert contest.rules["member_floor"] == 4 and contest.rules["provisional_hours"] == 12
        assert db.session.get(Contest, naive).starts_at == datetime(2030, 4, 1, tzinfo=UTC)


def test_create_with_a_host_club(app, clubs):
    contest_id = created_id(create(app, "--host-club", clubs["paris_slug"]))
    with app.app_context():
        assert db.session.get(Contest, contest_id).host_club_id == clubs["paris"]


def test_create_refuses_bad_input_in_one_line(app, clubs):
    one_line_error(create(app, kind="teams"), "--kind must be one of: clubs, readers")
    one_line_error(create(app, metric="smiles"), "--metric must be one of: books_read")
    one_line_error(create(app, "--scoring", "average"), "--scoring must be one of: total, per_member")
    one_line_error(create(app, starts="next monday"), "--starts: not an ISO date and time: 'next monday'")
    one_line_error(
        create(app, starts="2030-01-02T00:00Z", ends="2030-01-01T00:00Z"), "The contest must end after it starts."
    )
    one_line_error(create(app, "--scoring", "per_member", kind="readers"), "Per-member scoring is for club contests.")
    one_line_error(create(app, "--host-club", "nowhere"), "no club with slug 'nowhere'")
    one_line_error(
        create(app, "--host-club", clubs["paris_slug"], kind="readers"),
        "A club can host only club-against-club contests.",
    )
    with app.app_context():
        assert db.session.scalar(select(Contest.id)) is None


def test_list_show_open_and_cancel(app, clubs):
    first = created_id(create(app))
    second = created_id(create(app))
    listing = run(app, "list")
    assert listing.exit_code == 0 and "2 contest(s)." in listing.output and "Giving week" in listing.output

    opened = run(app, "open", str(first))
    assert opened.exit_code == 0 and f"Contest #{first} is open for entries" in opened.output
    one_line_error(run(app, "open", str(first)), "Only a draft can be opened; this contest is open.")
    only_open = run(app, "list", "--status", "open")
    assert f"#{first} " in only_open.output and f"#{second} " not in only_open.output
    assert "1 contest(s)." in only_open.output
    one_line_error(run(app, "list", "--status", "sleeping"), "--status must be one of: draft, open")

    with app.app_context():
        contest = db.session.get(Contest, first)
        enter_contest(contest, _user(clubs["ada"]), _club(clubs["paris"]))
    shown = run(app, "show", str(first))
    assert shown.exit_code == 0
    assert f"Contest #{first} “Giving week” · Open" in shown.output
    assert "Score = total money donated to the club." in shown.output
    assert "Ties go to the higher participation rate" in shown.output
    assert "both ends included" in shown.output
    assert "Standings so far:" in shown.output and "Paris Readers" in shown.output and "$0" in shown.output

    cancelled = run(app, "cancel", str(second))
    assert cancelled.exit_code == 0 and f"Contest #{second} is cancelled." in cancelled.output
    one_line_error(run(app, "cancel", str(second)), "This contest is already cancelled.")
    one_line_error(run(app, "show", "999"), "no contest 999")
    one_line_error(run(app, "open", "999"), "no contest 999")
    missing = run(app, "show")
    assert missing.exit_code == 1 and "Missing argument" in missing.output


def _user(user_id) -> User:
    return db.session.get(User, user_id)


def _club(club_id) -> Club:
    return db.session.get(Club, club_id)


def donate(club_id, user_id, cents, at, refunded=0):
    db.session.add(
        Donation(
            club_id=club_id,
            user_id=user_id,
            amount_cents=cents,
            refunded_cents=refunded,
            status=DonationStatus.PAID,
            gateway="simulated",
            paid_at=at,
        )
    )
    db.session.commit()


def test_close_due_scores_ended_contests_and_rescore_records_who_asked(app, clubs, inbox):
    contest_id = created_id(create(app, "--prize", "A reading lamp"))
    later_id = created_id(create(app))
    assert run(app, "open", str(contest_id)).exit_code == 0
    assert run(app, "open", str(later_id)).exit_code == 0
    with app.app_context():
        contest = db.session.get(Contest, contest_id)
        enter_contest(contest, _user(clubs["ada"]), _club(clubs["paris"]))
        enter_contest(contest, _user(clubs["bo"]), _club(clubs["lyon"]))
        donate(clubs["paris"], clubs["bo"], 5000, NOW)
        donate(clubs["lyon"], clubs["ada"], 3000, NOW)
        # The window of the first contest ends now; the second still runs.
        db.session.execute(update(Contest).where(Contest.id == contest_id).values(ends_at=datetime.now(UTC)))
        db.session.commit()

    due = run(app, "close-due")
    assert due.exit_code == 0 and due.output.strip() == f"Scored 1 contest(s): #{contest_id}"
    assert run(app, "close-due").output.strip() == "No contest is due."
    shown = run(app, "show", str(contest_id)).output
    assert "Finished" in shown and "1. Paris Readers" in shown and "$50.00" in shown
    assert "Winner: Paris Readers" in shown
    assert len(inbox.wait_for("ada@example.com", count=2)) == 2  # results and winner

    with app.app_context():
        paid = db.session.scalar(select(Donation).where(Donation.club_id == clubs["paris"]))
        paid.refunded_cents, paid.status = 5000, DonationStatus.REFUNDED
        db.session.commit()
    rescored = run(app, "rescore", str(contest_id), "--by", "Admin@Example.com", "--note", "Refund of #1")
    assert rescored.exit_code == 0, rescored.output
    assert rescored.output.strip() == f"Rescored contest #{contest_id}. Winner: Lyon Readers ($30.00)."
    with app.app_context():
        run_ = db.session.scalar(select(ContestRun).where(ContestRun.kind == "rescore"))
        assert run_.requested_by == "admin@example.com" and run_.note == "Refund of #1"
        assert run_.winner == "Lyon Readers"
    assert len(inbox.messages) == 3  # a rescore sends nothing

    one_line_error(run(app, "rescore", str(contest_id), "--by", "ghost@example.com"), "no user with email ghost")
    one_line_error(
        run(app, "rescore", str(later_id), "--by", "admin@example.com"), "Only a finished contest can be rescored."
    )
    missing_by = run(app, "rescore", str(contest_id))
    assert missing_by.exit_code == 1 and "Missing option '--by'" in missing_by.output
