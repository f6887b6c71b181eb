"""The scoring job on the real Redis: scheduled at the end, and safe when a worker dies mid-way."""

import os
import time
from datetime import UTC, datetime, timedelta

import pytest
from rq.registry import ScheduledJobRegistry
from sqlalchemy import select

from app.clubs.services import create_club
from app.contests import services as contest_services
from app.contests.services import create_contest, enter_contest, open_contest
from app.extensions import db
from app.jobs import enqueue, get_queue, redis_connection, run_worker
from app.models import Contest, ContestKind, ContestStatus, Donation, DonationStatus, Metric
from app.notifications import outbox
from tests.helpers import make_user

pytestmark = pytest.mark.redis


def setup_contest(ends_in: timedelta):
    start = datetime.now(UTC) - timedelta(hours=1)
    ada = make_user(email="ada@example.com", name="Ada")
    bo = make_user(email="bo@example.com", name="Bo")
    paris = create_club(ada, name="Paris", city="Paris", country="France")
    lyon = create_club(bo, name="Lyon", city="Lyon", country="France")
    contest = create_contest(
        title="Sprint",
        kind=ContestKind.CLUBS,
        metric=Metric.MONEY_DONATED,
        starts_at=start,
        ends_at=datetime.now(UTC) + ends_in,
        provisional_hours=0,
    )
    enter_contest(contest, ada, paris)
    enter_contest(contest, bo, lyon)
    db.session.add(
        Donation(
            club_id=lyon.id,
            user_id=ada.id,
            amount_cents=900,
            status=DonationStatus.PAID,
            gateway="simulated",
            paid_at=start + timedelta(minutes=1),
        )
    )
    db.session.commit()
    return contest


def test_opening_a_contest_schedules_its_scoring_at_the_end(redis_app, inbox):
    with redis_app.app_context():
        contest = setup_contest(ends_in=timedelta(seconds=2))
        open_contest(contest)
        registry = ScheduledJobRegistry(queue=get_queue("default"))
        assert any(job_id.startswith(f"score-contest-{contest.id}-") for job_id in registry.get_job_ids())
        contest_id = contest.id
    time.sleep(3)
    run_worker(redis_app, ["default", "mail"], burst=True)
    with redis_app.app_context():
        done = db.session.get(Contest, contest_id)
        assert done.status == ContestStatus.FINISHED and done.standings["winner"]["name"] == "Lyon"
    assert any("You won" in m["Subject"] for m in inbox.wait_for("bo@example.com", count=2))


def test_a_worker_killed_mid_way_is_retried_and_sends_each_email_once(redis_app, inbox, monkeypatch):
    with redis_app.app_context():
        contest = setup_contest(ends_in=timedelta(minutes=5))
        open_contest(contest)
        contest.ends_at = datetime.now(UTC) - timedelta(seconds=1)  # the window just closed
        db.session.commit()
        contest_id = contest.id
        key = f"test:killed:{contest_id}"

    real_hand_over = outbox.hand_over

    def dies_the_first_time(email_ids):
        # Runs in the forked work-horse: the standings and their emails are committed, no email
        # is queued yet.
        if redis_connection(redis_app).incr(key) == 1:
            os._exit(1)  # as if the machine lost the process right here
        return real_hand_over(email_ids)

    monkeypatch.setattr(outbox, "hand_over", dies_the_first_time)
    with redis_app.app_context():
        enqueue(contest_services.score_contest, contest_id)
    run_worker(redis_app, ["default", "mail"], burst=True)  # forking worker: the horse dies, the job retries

    with redis_app.app_context():
        assert int(redis_connection().get(key)) == 1  # the retry found the contest finished
        done = db.session.get(Contest, contest_id)
        assert done.status == ContestStatus.FINISHED
        assert done.standings["winner"]["name"] == "Lyon"
        assert [e["name"] for e in done.standings["entrants"]] == ["Lyon", "Paris"]
    assert inbox.messages == []  # committed, never queued: the outbox sweep finds them

    redis_app.config["MAIL_SWEEP_AFTER_SECONDS"] = 0
    result = redis_app.test_cli_runner().invoke(args=["mail", "retry"])
    assert result.exit_code == 0 and "Re-queued 3 email(s)." in result.output, result.output
    run_worker(redis_app, ["mail"], burst=True)
    inbox.wait_for("bo@example.com", count=2)
    inbox.wait_for("ada@example.com", count=1)
    time.sleep(0.5)
    assert sorted(m["To"] for m in inbox.messages) == ["ada@example.com", "bo@example.com", "bo@example.com"]
    with redis_app.app_context():
        assert db.session.scalar(select(Contest.status).where(Contest.id == contest_id)) == "finished"
