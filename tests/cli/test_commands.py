"""Admin commands: users, seed, jobs without Redis. Bad input exits 1 with one line."""

import re

from sqlalchemy import func, select

from app.extensions import db
from app.models import User
from tests.helpers import make_user


def run(app, *args, **kwargs):
    return app.test_cli_runner().invoke(args=list(args), **kwargs)


def test_create_admin_creates_a_verified_admin(app):
    result = run(app, "users", "create-admin", "Boss@Example.com", "--password", "a long admin password")
    assert result.exit_code == 0, result.output
    assert "Created admin boss@example.com" in result.output
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "boss@example.com"))
        assert user.is_admin and user.is_verified


def test_create_admin_promotes_an_existing_reader(app):
    with app.app_context():
        make_user()
    result = run(app, "users", "create-admin", "reader@example.com", "--yes")
    assert result.exit_code == 0 and "Promoted admin reader@example.com" in result.output


def test_create_admin_prompts_for_a_password(app):
    result = run(
        app, "users", "create-admin", "new@example.com", input="a long admin password\na long admin password\n"
    )
    assert result.exit_code == 0, result.output


def test_create_admin_rejects_bad_input(app):
    bad_email = run(app, "users", "create-admin", "not-an-email", "--password", "a long admin password")
    assert bad_email.exit_code == 1 and "not an email address" in bad_email.output
    short = run(app, "users", "create-admin", "a@example.com", "--password", "short")
    assert short.exit_code == 1 and "at least 10 characters" in short.output
    missing = run(app, "users", "create-admin")
    assert missing.exit_code == 1 and "Missing argument" in missing.output


def test_list_users(app):
    with app.app_context():
        make_user()
        make_user(email="boss@example.com", name="Boss", is_admin=True)
    result = run(app, "users", "list")
    assert "reader@example.com" in result.output and "admin,verified" in result.output
    assert "2 user(s)." in result.output
    admins = run(app, "users", "list", "--admins")
    assert "reader@example.com" not in admins.output and "1 user(s)." in admins.output


def test_disable_stops_log_in_and_ends_sessions(app):
    with app.app_context():
        make_user()
    client = app.test_client()
    client.post("/auth/login", data={"email": "reader@example.com", "password": "correct horse battery"})
    assert client.get("/account").status_code == 200
    result = run(app, "users", "disable", "reader@example.com")
    assert result.exit_code == 0 and "Disabled reader@example.com" in result.output
    assert client.get("/account").status_code == 302
    enabled = run(app, "users", "enable", "reader@example.com")
    assert enabled.exit_code == 0


def test_disable_unknown_user_is_one_line_and_status_1(app):
    result = run(app, "users", "disable", "ghost@example.com")
    assert result.exit_code == 1
    assert result.output.strip() == "Error: no user with email ghost@example.com"


def test_unknown_subcommand_exits_1(app):
    result = run(app, "users", "explode")
    assert result.exit_code == 1 and "No such command" in result.output


def test_seed_demo_is_idempotent(app):
    first = run(app, "seed", "demo")
    second = run(app, "seed", "demo")
    assert first.exit_code == second.exit_code == 0
    assert "Demo accounts: 9 created" in first.output and "0 created, 9 already there" in second.output
    assert re.search(r"Demo books: [1-9]\d+ imported", first.output)
    assert "already in the catalogue, none imported" in second.output
    assert "Demo clubs: 5 created" in first.output and "Demo clubs: 5 already there" in second.output
    assert "Demo contests: 1 finished (with results), 2 open" in first.output
    assert "Demo contests: already there" in second.output
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == 9  # 3 demo accounts + 6 club members


def test_demo_reader_can_log_in(app):
    run(app, "seed", "demo")
    response = app.test_client().post(
        "/auth/login", data={"email": "reader@example.com", "password": "demo-password-1"}
    )
    assert response.status_code == 303


def test_job_commands_without_redis_say_why(app):
    for args in (["jobs", "requeue", "--all"], ["jobs", "worker", "--burst"]):
        result = run(app, *args)
        assert result.exit_code == 1
        assert "REDIS_URL is not set" in result.output


def test_seeded_donations_have_one_date_in_the_ledger_and_on_the_club_page(app):
    from app.models import Donation, FundEntry

    run(app, "seed", "demo")
    with app.app_context():
        rows = db.session.execute(
            select(Donation.paid_at, FundEntry.created_at).join(FundEntry, FundEntry.donation_id == Donation.id)
        ).all()
        assert len(rows) >= 3
        assert {paid.date() for paid, _ in rows} != {rows[0][0].date()}  # some are backdated
        assert all(paid.date() == entered.date() for paid, entered in rows), rows
