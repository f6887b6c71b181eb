"""Reading the audit log; `books import` exit codes; failed emails in `jobs failed`; the seed report."""

import getpass
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert

from app.extensions import db
from app.models import AuditEntry, EmailMessage
from tests.helpers import make_user

DAY = timedelta(days=1)
NOW = datetime.now(UTC)


def run(app, *args, **kwargs):
    return app.test_cli_runner().invoke(args=list(args), **kwargs)


def audit_row(at, command, target, actor="alice", **details):
    db.session.add(AuditEntry(at=at, actor=actor, command=command, target=target, details=details))
    db.session.commit()


def test_audit_list_shows_the_newest_first_in_readable_columns(app):
    with app.app_context():
        audit_row(NOW - 3 * DAY, "books add", "book:1", title="Emma")
        audit_row(NOW - DAY, "users disable", "user:7", email="x@example.com")
        audit_row(NOW, "clubs hide", "club:2", actor="bob", slug="night-owls")
    result = run(app, "audit", "list")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["WHEN", "(UTC)", "ACTOR", "COMMAND", "TARGET", "DETAILS"]
    assert [line.split()[3] + " " + line.split()[4] for line in lines[1:4]] == [
        "clubs hide", "users disable", "books add",
    ]  # fmt: skip
    assert f"{NOW:%Y-%m-%d %H:%M:%S}  bob" in lines[1] and "slug=night-owls" in lines[1]
    assert "command_line" not in result.output
    assert lines[-1] == "3 audit row(s)."


def test_audit_list_filters_by_day_actor_account_and_limit(app):
    with app.app_context():
        reader_id = make_user().id
        audit_row(datetime(2026, 1, 9, 23, 59, tzinfo=UTC), "books add", "book:1")
        audit_row(datetime(2026, 1, 10, 0, 1, tzinfo=UTC), "users disable", f"user:{reader_id}")
        audit_row(datetime(2026, 1, 11, tzinfo=UTC), "users enable", f"user:{reader_id}", actor="bob")
    since = run(app, "audit", "list", "--since", "2026-01-10")
    assert "books add" not in since.output and "2 audit row(s)." in since.output
    by_bob = run(app, "audit", "list", "--actor", "bob")
    assert "users enable" in by_bob.output and "1 audit row(s)." in by_bob.output
    about = run(app, "audit", "list", "--user", "reader@example.com")
    assert "books add" not in about.output and "2 audit row(s)." in about.output
    assert "2 audit row(s)." in run(app, "audit", "list", "--user", str(reader_id)).output
    limited = run(app, "audit", "list", "--limit", "1")
    assert "users enable" in limited.output and "1 audit row(s)." in limited.output
    bad_day = run(app, "audit", "list", "--since", "10/01/2026")
    assert bad_day.exit_code == 1
    nobody = run(app, "audit", "list", "--user", "ghost@example.com")
    assert nobody.exit_code == 1 and "no user with email ghost@example.com" in nobody.output


def test_commands_run_here_are_listed_under_this_os_account(app):
    assert run(app, "users", "create-admin", "boss@example.com", "--password", "a long admin password").exit_code == 0
    listed = run(app, "audit", "list", "--actor", getpass.getuser())
    assert "users create-admin" in listed.output and "created=True" in listed.output


MIXED = "isbn,title,authors,price,stock\n9780141439518,Pride and Prejudice,Jane Austen,8.99,3\n123,No ISBN,Nobody,1,1\n"


def test_books_import_exits_2_when_rows_were_rejected_unless_allowed(app, tmp_path):
    path = tmp_path / "books.csv"
    path.write_text(MIXED)
    rejected = run(app, "books", "import", str(path))
    assert rejected.exit_code == 2, rejected.output
    assert "1 inserted, 0 updated, 1 rejected." in rejected.output  # the good row is in all the same
    allowed = run(app, "books", "import", str(path), "--allow-rejects")
    assert allowed.exit_code == 0, allowed.output
    assert "0 inserted, 1 updated, 1 rejected." in allowed.output
    clean = tmp_path / "clean.csv"
    clean.write_text(MIXED.splitlines()[0] + "\n" + MIXED.splitlines()[1] + "\n")
    assert run(app, "books", "import", str(clean)).exit_code == 0
    helped = run(app, "books", "import", "--help")
    assert "--allow-rejects" in helped.output and "2 when some rows were rejected" in helped.output


def email_row(key, status, age, attempts=1, error=None, **fields):
    stamp = datetime.now(UTC) - age  # at the moment of the test, not of collection
    return {
        "idempotency_key": key, "message_id": f"<{key}@test>", "template": "password_changed",
        "recipient": f"{key}@example.com", "subject": "S", "body_text": "t", "body_html": "h",
        "status": status, "attempts": attempts, "last_error": error, "created_at": stamp, "updated_at": stamp,
        **fields,
    }  # fmt: skip


def test_jobs_failed_without_redis_lists_failed_and_stuck_emails(app):
    with app.app_context():
        db.session.execute(
            insert(EmailMessage),
            [
                email_row(
                    "failed", EmailMessage.STATUS_FAILED, timedelta(minutes=1), 6, "SMTPServerDisconnected: gone"
                ),
                email_row("waiting", EmailMessage.STATUS_PENDING, timedelta(hours=1), 0),
                email_row("claimed", EmailMessage.STATUS_SENDING, timedelta(hours=1)),
                email_row("fresh", EmailMessage.STATUS_PENDING, timedelta(seconds=1), 0),
                email_row("sent", EmailMessage.STATUS_SENT, timedelta(hours=1)),
            ],
        )
        db.session.commit()
    result = run(app, "jobs", "failed")
    assert result.exit_code == 0, result.output
    assert "REDIS_URL is not set" in result.output
    assert "failed (failed, 6 attempt(s))" in result.output and "SMTPServerDisconnected: gone" in result.output
    assert "waiting@example.com" in result.output and "claimed@example.com" in result.output
    assert "fresh@example.com" not in result.output and "sent@example.com" not in result.output
    assert "3 failed or stuck email(s)." in result.output and "flask mail retry" in result.output


def test_jobs_failed_with_redis_lists_failed_jobs_and_the_emails_too(redis_app):
    with redis_app.app_context():
        db.session.execute(
            insert(EmailMessage), [email_row("bounced", EmailMessage.STATUS_FAILED, timedelta(hours=2), 6, "550 no")]
        )
        db.session.commit()
    result = run(redis_app, "jobs", "failed")
    assert result.exit_code == 0, result.output
    assert "REDIS_URL is not set" not in result.output and "failed job(s)." in result.output
    assert "bounced@example.com" in result.output and "1 failed or stuck email(s)." in result.output


def test_jobs_failed_with_nothing_wrong_says_so(app):
    result = run(app, "jobs", "failed")
    assert result.exit_code == 0 and "0 failed or stuck email(s)." in result.output


def test_seed_demo_names_every_account_with_its_role_and_the_password(app):
    first = run(app, "seed", "demo")
    assert first.exit_code == 0, first.output
    assert "Demo accounts: 9 created, 0 already there." in first.output
    assert "all with the password 'demo-password-1'" in first.output
    assert "Demo addresses: 3 reader address(es) and 5 club delivery address(es) added." in first.output
    listed = [line.split() for line in first.output.splitlines() if line.startswith("  ")]
    assert [row[0] for row in listed] == [
        "reader@example.com", "owner@example.com", "admin@example.com", "mina@example.com", "lou@example.com",
        "sam@example.com", "ines@example.com", "kofi@example.com", "pending@example.com",
    ]  # fmt: skip
    roles = {row[0]: " ".join(row[2:]) for row in listed}
    assert roles["admin@example.com"] == "admin"
    assert roles["owner@example.com"].startswith("reader; owner of Paris Page Turners")
    assert "moderator of Lyon Mystery Circle" in roles["kofi@example.com"]
    second = run(app, "seed", "demo")
    assert "Demo accounts: 0 created, 9 already there." in second.output
    assert second.output.count("already there  ") == 9
