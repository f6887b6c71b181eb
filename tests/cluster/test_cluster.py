"""Many instances as one system: two app instances, two workers, PgBouncer and nginx, for real.

tests/cluster/stack.py starts everything as subprocesses (production settings, the database
through PgBouncer in transaction mode, nginx from deploy/nginx.conf with an upstream of both
instances). A reader cannot tell which instance answers: a session, a rate limit and a cached
page are the same on both; a contest is scored once with both workers running; and when one
instance dies under load no GET fails and no donation is lost or doubled.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
import redis
from sqlalchemy import func, select

from app import create_app
from app.clubs.services import create_club
from app.contests.services import open_contest
from app.extensions import db
from app.jobs import enqueue
from app.models import Contest, ContestRun, ContestStatus, Donation
from tests.cluster import pgbouncer
from tests.cluster.stack import DEPLOY_NGINX, NGINX, Cluster
from tests.conftest import database_is_postgres, make_config, need
from tests.contests.test_scoring_job import setup_contest
from tests.factories import make_books
from tests.helpers import PASSWORD, make_user

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.nginx, pytest.mark.smtp]

REDIRECTS = (302, 303)


@pytest.fixture(scope="module")
def cluster(app, base_settings, redis_url, smtp_server, tmp_path_factory):
    need("PostgreSQL", database_is_postgres(app), "set DATABASE_URL=postgresql://... to run the cluster")
    url, why = redis_url
    need("Redis", url is not None, why)
    need("nginx", os.path.exists(NGINX), "apt-get install nginx")
    need("PgBouncer", pgbouncer.available(), "apt-get install pgbouncer")
    redis.Redis.from_url(url).flushdb()
    controller, _ = smtp_server
    stack = Cluster(
        tmp_path_factory.mktemp("cluster"),
        database_url=base_settings["SQLALCHEMY_DATABASE_URI"],
        redis_url=url,
        smtp=("127.0.0.1", controller.port),
    )
    try:
        yield stack.start()
    finally:
        stack.stop()
        redis.Redis.from_url(url).flushdb()


@pytest.fixture
def shared(cluster):
    """The cluster with its shared caches and rate-limit counters emptied (the tables are, by
    conftest's _isolate): ids restart with the tables. RQ's own keys stay: the workers are running."""
    client = redis.Redis.from_url(cluster.redis_url)
    for key in client.scan_iter():
        if not key.startswith(b"rq:"):
            client.delete(key)
    return cluster


@pytest.fixture
def queue_app(base_settings, cluster):
    """An app of this test process that queues jobs on the cluster's Redis (for the workers)."""
    url = cluster.redis_url
    return create_app(make_config(**{**base_settings, "REDIS_URL": url, "RATELIMIT_STORAGE_URI": url}))


def test_a_session_made_on_one_instance_is_valid_on_the_other(app, shared):
    with app.app_context():
        make_user(email="rosa@example.com", name="Rosa Reader")
    reader = shared.browser()
    assert reader.log_in("rosa@example.com", PASSWORD, instance=0).status in REDIRECTS
    account = reader.get("/account", instance=1)
    assert account.status == 200 and "rosa@example.com" in account.text
    stolen = dict(reader.cookies)

    # Signing out on the second instance ends the session on the first too (the session version
    # is in the database, not in one process).
    assert reader.submit("/account", "/auth/logout", {}, instance=1).status in REDIRECTS
    replay = shared.browser()
    replay.cookies.update(stolen)
    assert replay.get("/account", instance=0).status in REDIRECTS


def test_the_login_limit_counts_across_instances(app, shared):
    with app.app_context():
        make_user(email="target@example.com")
    attacker = shared.browser()
    # Production's per-account limit: 5 failed attempts a minute, alternating between instances.
    statuses = [attacker.log_in("target@example.com", "wrong password", instance=i % 2).status for i in range(6)]
    assert statuses == [422] * 5 + [429]
    # The right password is refused too on either instance, until the minute is over.
    assert attacker.log_in("target@example.com", PASSWORD, instance=0).status == 429


def test_a_price_change_is_seen_at_once_on_every_instance(app, shared):
    with app.app_context():
        book = make_books([{"title": "Middlemarch", "price": "10.00"}])[0]
    path = f"/books/{book.id}/middlemarch"
    visitor = shared.browser()
    for instance in (0, 1, 0, 1):  # both instances hold the page in memory and in Redis
        page = visitor.get(path, instance=instance)
        assert page.status == 200 and "$10.00" in page.text

    changed = shared.flask("books", "set-price", str(book.id), "12.34")
    assert changed.returncode == 0, changed.stderr

    for instance in (1, 0):
        page = visitor.get(path, instance=instance)
        assert "$12.34" in page.text and "$10.00" not in page.text


def test_a_contest_is_scored_once_and_its_emails_sent_once_with_two_workers(queue_app, shared, inbox):
    assert shared.workers_listening() == {"worker0", "worker1"}
    with queue_app.app_context():
        contest = setup_contest(ends_in=timedelta(seconds=2))
        open_contest(contest)  # RQ's scheduler (in one of the workers) queues the scoring at the end
        contest_id = contest.id
        time.sleep(2.2)
        # The same job again from elsewhere (a retry, an operator, cron's close-due): both workers
        # take one each, at the same moment as the scheduled one.
        from app.contests.services import score_contest

        for _ in range(4):
            enqueue(score_contest, contest_id)

    assert any("You won" in m["Subject"] for m in inbox.wait_for("bo@example.com", count=2, timeout=30))
    inbox.wait_for("ada@example.com", count=1, timeout=30)
    time.sleep(2)  # time for a second scoring, or a second send, to show up
    with queue_app.app_context():
        assert db.session.get(Contest, contest_id).status == ContestStatus.FINISHED
        runs = db.session.scalar(
            select(func.count()).select_from(ContestRun).where(ContestRun.contest_id == contest_id)
        )
        assert runs == 1
    assert len(inbox.to("bo@example.com")) == 2  # results and "you won", once each
    assert len(inbox.to("ada@example.com")) == 1


def test_nginx_never_sends_a_post_to_a_second_instance():
    """A POST that reached an instance which then died may have been done: sending it again is the
    reader's choice (with the form's idempotency key), never the proxy's."""
    retries = re.findall(r"^\s*proxy_next_upstream\s+([^;]+);", DEPLOY_NGINX.read_text(), re.MULTILINE)
    assert retries, "deploy/nginx.conf should say which failures go to the next instance"
    assert all("non_idempotent" not in directive for directive in retries)


class Reader(threading.Thread):
    """A signed-in reader who keeps opening the donation form and giving $5 through nginx; a form
    that gets a 5xx is sent again as it is (same idempotency key), as a reader pressing Give again."""

    def __init__(self, cluster: Cluster, email: str, slug: str, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.browser, self.slug, self.stop = cluster.browser(), slug, stop
        assert self.browser.log_in(email, PASSWORD).status in REDIRECTS
        self.statuses: list[tuple[str, int]] = []
        self.keys: list[str] = []
        self.outcomes: list[int] = []  # the last answer to each form, after any resend
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                self.statuses.append(("GET", self.browser.get("/books").status))
                form = self.browser.get(f"/clubs/{self.slug}/donate")
                self.statuses.append(("GET", form.status))
                if form.status != 200:
                    continue
                fields = {
                    "csrf_token": form.hidden("csrf_token"),
                    "idempotency_key": form.hidden("idempotency_key"),
                    "amount": "5",
                    "message": "",
                }
                self.keys.append(fields["idempotency_key"])
                for _ in range(10):
                    status = self.browser.request("POST", f"/clubs/{self.slug}/donate", fields).status
                    self.statuses.append(("POST", status))
                    if status < 500:
                        break
                    time.sleep(0.2)
                self.outcomes.append(status)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.error = exc


def test_killing_an_instance_under_load_loses_no_donation_and_fails_no_get(app, shared):
    with app.app_context():
        owner = make_user(email="owner@example.com", name="Olga Owner")
        slug = create_club(owner, name="Night Readers", city="Lyon", country="France").slug
        make_books([{"title": "Persuasion"}])
        emails = [make_user(email=f"giver{i}@example.com", name=f"Giver {i}").email for i in range(4)]
    stop = threading.Event()
    readers = [Reader(shared, email, slug, stop) for email in emails]
    log_start = len(shared.nginx_access_log())
    for reader in readers:
        reader.start()
    time.sleep(3)
    shared.kill_instance(0)
    time.sleep(4)
    stop.set()
    for reader in readers:
        reader.join(timeout=60)
        assert reader.error is None, repr(reader.error)

    statuses = [s for reader in readers for s in reader.statuses]
    failed_gets = [s for s in statuses if s[0] == "GET" and s[1] >= 500]
    assert failed_gets == [], Counter(statuses)
    outcomes = [status for reader in readers for status in reader.outcomes]
    assert set(outcomes) <= set(REDIRECTS), Counter(statuses)  # every form went through in the end
    keys = [key for reader in readers for key in reader.keys]
    assert len(keys) >= 8, Counter(statuses)  # the load did run, before and after the kill

    with app.app_context():
        saved = db.session.scalars(select(Donation.idempotency_key)).all()
    assert Counter(saved) == Counter(keys)  # each form given once: none lost, none doubled

    # Both instances served before the kill; afterwards the second one served everything.
    served = [line for line in shared.nginx_access_log()[log_start:] if "upstream=[" in line]
    assert any("127.0.0.2:" in line for line in served) and any("127.0.0.3:" in line for line in served)
