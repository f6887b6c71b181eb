"""What an admin sees managing accounts: promote only when asked, demote, enable, delete."""

from sqlalchemy import select

from app.extensions import db
from app.models import AuditEntry, EmailMessage, User
from tests.helpers import PASSWORD, login_as, make_user


def run(app, *args, **kwargs):
    return app.test_cli_runner().invoke(args=list(args), **kwargs)


def the_user(app, user_id: int) -> User:
    with app.app_context():
        user = db.session.get(User, user_id)
        db.session.expunge(user)
        return user


def audited(app) -> list[tuple[str, str]]:
    with app.app_context():
        return [(r.command, r.target) for r in db.session.scalars(select(AuditEntry).order_by(AuditEntry.id))]


def a_reader(app, **fields) -> int:
    with app.app_context():
        return make_user(**fields).id


def test_promoting_an_existing_account_asks_first_and_no_changes_nothing(app):
    reader_id = a_reader(app)
    refused = run(app, "users", "create-admin", "reader@example.com", input="n\n")
    assert refused.exit_code == 1
    assert "reader@example.com (Rosa Reader" in refused.output and "Make it an admin?" in refused.output
    assert "Aborted" in refused.output
    assert not the_user(app, reader_id).is_admin
    assert audited(app) == []

    agreed = run(app, "users", "create-admin", "reader@example.com", input="y\n")
    assert agreed.exit_code == 0, agreed.output
    assert "Promoted admin reader@example.com" in agreed.output
    assert the_user(app, reader_id).is_admin


def test_yes_promotes_without_asking_and_an_admin_is_left_alone(app):
    reader_id = a_reader(app)
    result = run(app, "users", "create-admin", "reader@example.com", "--yes")
    assert result.exit_code == 0 and "Make it an admin?" not in result.output
    assert the_user(app, reader_id).is_admin
    again = run(app, "users", "create-admin", "reader@example.com")
    assert again.exit_code == 0 and "already an admin; nothing changed" in again.output
    assert audited(app) == [("users create-admin", f"user:{reader_id}")]


def test_demote_takes_admin_rights_away_and_is_audited(app):
    boss_id = a_reader(app, email="boss@example.com", name="Boss", is_admin=True)
    result = run(app, "users", "demote", "Boss@Example.com")
    assert result.exit_code == 0, result.output
    assert "boss@example.com is no longer an admin." in result.output
    assert not the_user(app, boss_id).is_admin
    assert audited(app) == [("users demote", f"user:{boss_id}")]

    again = run(app, "users", "demote", "boss@example.com")
    assert again.exit_code == 1 and again.output.strip() == "Error: boss@example.com is not an admin"


def test_enable_undoes_disable_and_refuses_an_account_that_is_not_disabled(app):
    a_reader(app)
    not_disabled = run(app, "users", "enable", "reader@example.com")
    assert not_disabled.exit_code == 1 and "reader@example.com is not disabled" in not_disabled.output
    assert run(app, "users", "disable", "reader@example.com").exit_code == 0
    assert login_as(app.test_client()).status_code != 303
    assert run(app, "users", "enable", "reader@example.com").exit_code == 0
    assert login_as(app.test_client()).status_code == 303


def test_delete_anonymises_through_the_accounts_service_after_a_confirmation(app):
    reader_id = a_reader(app, bio="I read at night.")
    with app.app_context():
        # An email they were sent: its contents go with the account.
        from app.notifications.email import record_email

        record_email(
            key="welcome-test", template="password_changed", to="reader@example.com", subject="Hi",
            user=db.session.get(User, reader_id), reset_link="x",
        )  # fmt: skip
        db.session.commit()
    client = app.test_client()
    assert login_as(client).status_code == 303

    refused = run(app, "users", "delete", "reader@example.com", input="n\n")
    assert refused.exit_code == 1 and "This cannot be undone." in refused.output
    assert the_user(app, reader_id).deleted_at is None

    result = run(app, "users", "delete", "reader@example.com", input="y\n")
    assert result.exit_code == 0, result.output
    assert f"it is now deleted-{reader_id}@deleted.invalid" in result.output
    user = the_user(app, reader_id)
    assert user.deleted_at is not None and user.email == f"deleted-{reader_id}@deleted.invalid"
    assert user.name != "Rosa Reader" and user.bio == "" and user.password_hash == "!deleted"
    with app.app_context():
        (email,) = db.session.scalars(select(EmailMessage).where(EmailMessage.user_id == reader_id))
        assert email.recipient == user.email and email.body_text == "" and email.body_html == ""
    assert client.get("/account").status_code == 302  # their session ended
    assert login_as(app.test_client(), password=PASSWORD).status_code != 303
    assert audited(app) == [("users delete", f"user:{reader_id}")]

    gone = run(app, "users", "delete", "reader@example.com", "--yes")
    assert gone.exit_code == 1 and "no user with email reader@example.com" in gone.output
