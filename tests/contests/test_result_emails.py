"""A finished contest's results reach every entrant: recorded in bulk (one COPY each for the emails
and the notifications on PostgreSQL), they are exactly the emails and notifications that recording
them one at a time gives, and the owners see the notification in the nav on their next page."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.clubs.services import create_club
from app.contests.services import create_contest, enter_contest, open_contest, score_contest
from app.extensions import db
from app.models import Contest, ContestKind, Donation, DonationStatus, EmailMessage, Metric, Notification, User
from app.notifications.email import _new_email
from app.notifications.inbox import notification_for_email
from tests.helpers import login_as, make_user

START = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
END = START + timedelta(days=7)


def contest_of(kind, title="Autumn & <Spring> drive"):
    made = create_contest(
        title=title, kind=kind, metric=Metric.MONEY_DONATED, starts_at=START, ends_at=END, provisional_hours=0
    )
    open_contest(made)
    return made


def donate(club, user, cents):
    db.session.add(
        Donation(
            club_id=club.id,
            user_id=user.id,
            amount_cents=cents,
            status=DonationStatus.PAID,
            gateway="simulated",
            paid_at=START + timedelta(days=1),
        )
    )
    db.session.commit()


def finish(contest):
    assert score_contest(contest.id, now=END + timedelta(seconds=1)) == "finished"
    db.session.expire_all()
    return db.session.get(Contest, contest.id)


def clubs_contest(people, gifts):
    c = contest_of(ContestKind.CLUBS)
    for i, (owner, cents) in enumerate(zip(people, gifts, strict=True)):
        club = create_club(owner, name=f"Readers {i} & <Friends> “{owner.name}”", city="Paris", country="France")
        enter_contest(c, owner, club)
        if cents:
            donate(club, owner, cents)
    return c


def readers_contest(people, gifts):
    c = contest_of(ContestKind.READERS)
    club = create_club(make_user(email="host@example.com", name="Host"), name="Host club", city="Lyon", country="FR")
    for person, cents in zip(people, gifts, strict=True):
        enter_contest(c, person)
        if cents:
            donate(club, person, cents)
    return c


def expected_email(email, contest):
    """The email as ``record_email`` renders one on its own (Flask's ``render_template``)."""
    standings = contest.standings["entrants"]
    entrant_id = int(email.idempotency_key.rsplit(":", 1)[1])
    standing = next(s for s in standings if s["entrant_id"] == entrant_id)
    user = db.session.get(User, email.user_id)
    context = dict(user=user, contest=contest, standing=standing)
    if email.template == "contest_results":
        context |= dict(standings=standings, winner=contest.standings["winner"])
    return _new_email(
        key=email.idempotency_key,
        template=email.template,
        to=user.email,
        subject=email.subject,
        user=user,
        context=context,
    )


@pytest.mark.parametrize(
    ("build", "gifts", "emails"),
    [
        (clubs_contest, [700, 0, 1200, 1200], 5),  # a winner and a tie
        (readers_contest, [300, 900, 0, 0], 5),
        (clubs_contest, [0, 0, 0, 0], 4),  # nobody scored: no winner, no winner's email
    ],
)
def test_each_results_email_and_notification_is_what_recording_it_alone_gives(app_ctx, build, gifts, emails):
    people = [
        make_user(email=f"p{i}@example.com", name=name)
        for i, name in enumerate(["Ann & <Bo>", 'Zoë "Z"', "Léa", "O'Neil"])
    ]
    contest = finish(build(people, gifts))
    recorded = db.session.scalars(select(EmailMessage).order_by(EmailMessage.id)).all()
    assert len(recorded) == emails
    assert len({email.message_id for email in recorded}) == emails
    for email in recorded:
        alone = expected_email(email, contest)
        assert (email.recipient, email.subject, email.template, email.user_id) == (
            alone.recipient,
            alone.subject,
            alone.template,
            alone.user_id,
        )
        assert email.body_text == alone.body_text
        assert email.body_html == alone.body_html
        assert email.message_id.startswith("<") and email.message_id.endswith(alone.message_id.partition("@")[2])
        notification = db.session.scalars(select(Notification).where(Notification.key == email.idempotency_key)).one()
        user = db.session.get(User, email.user_id)
        row = notification_for_email(email.template, email.idempotency_key, user, email.subject, {"contest": contest})
        assert {name: getattr(notification, name) for name in row} == row
        assert notification.read_at is None and notification.created_at is not None


def test_scoring_again_records_no_second_email_or_notification(app_ctx):
    people = [make_user(email=f"p{i}@example.com", name=f"P{i}") for i in range(3)]
    contest = finish(clubs_contest(people, [100, 200, 0]))
    before = (db.session.query(EmailMessage).count(), db.session.query(Notification).count())
    assert before == (4, 4)
    contest.status = "open"  # as if a crash had lost the status but not the emails
    db.session.commit()
    finish(contest)
    assert (db.session.query(EmailMessage).count(), db.session.query(Notification).count()) == before


def nav_badge(client) -> str:
    page = client.get("/account").get_data(as_text=True)
    start = page.index('id="notification-badge"')
    return page[page.index(">", start) + 1 : page.index("</a>", start)]


@pytest.mark.parametrize("cache", ["app", "redis_app"])
def test_the_owners_see_the_results_notification_on_their_next_page(app, request, cache):
    app = request.getfixturevalue(cache) if cache != "app" else app
    with app.app_context():
        people = [make_user(), make_user(email="other@example.com", name="Other")]
        contest_id = clubs_contest(people, [500, 100]).id
    client = app.test_client()
    assert login_as(client).status_code in (302, 303)
    assert "unread" not in nav_badge(client)  # the snapshot is now cached
    with app.app_context():
        assert score_contest(contest_id, now=END + timedelta(seconds=1)) == "finished"
    # Results and the winner's email, both with a notification.
    assert '>2<span class="visually-hidden"> unread' in nav_badge(client)


def test_a_contest_with_the_longest_title_allowed_is_scored_and_announced(app_ctx):
    people = [make_user(email=f"p{i}@example.com", name=f"P{i}") for i in range(2)]
    title = "{0} " + "A" * 196  # the most create_contest keeps; "Results of “…”" is longer than an email subject's 200
    c = contest_of(ContestKind.CLUBS, title=title)
    for i, owner in enumerate(people):
        club = create_club(owner, name=f"Club {i}", city="Paris", country="France")
        enter_contest(c, owner, club)
        donate(club, owner, 100 * (i + 1))
    finish(c)
    subjects = db.session.scalars(select(EmailMessage.subject)).all()
    assert len(subjects) == 3 and all(len(subject) <= 200 for subject in subjects)
    assert sorted(subject[:15] + subject[-3:] for subject in subjects) == [
        "Results of “{0}A…”",
        "Results of “{0}A…”",
        "You won “{0} AA…”!",
    ]
    assert all(len(n.title) <= 200 for n in db.session.scalars(select(Notification)))
