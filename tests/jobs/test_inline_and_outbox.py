"""The embedded default: jobs run inline, mail goes to the log and the outbox folder."""

import logging
from pathlib import Path

from app import create_app
from app.jobs import enqueue
from app.notifications.email import send_email
from tests.conftest import make_config
from tests.helpers import register_user
from tests.jobs.tasks import always_fails


def test_without_redis_a_job_runs_at_once_and_a_failure_is_logged(app_ctx, caplog):
    with caplog.at_level(logging.ERROR):
        assert enqueue(always_fails) is None
    assert "inline job always_fails failed" in caplog.text


def test_without_a_mail_server_emails_go_to_the_outbox_and_the_log(app, base_settings, tmp_path, caplog):
    outbox = tmp_path / "outbox"
    application = create_app(make_config(**{**base_settings, "MAIL_SERVER": None, "OUTBOX_DIR": str(outbox)}))
    with caplog.at_level(logging.INFO):
        register_user(application.test_client(), email="offline@example.com")
    files = list(Path(outbox).glob("*.eml"))
    assert len(files) == 1
    content = files[0].read_text()
    assert "To: offline@example.com" in content and "/auth/verify/" in content
    assert "offline@example.com" in caplog.text and "written to" in caplog.text


def test_outbox_write_happens_once_per_key(app, base_settings, tmp_path):
    outbox = tmp_path / "outbox"
    application = create_app(make_config(**{**base_settings, "MAIL_SERVER": None, "OUTBOX_DIR": str(outbox)}))
    with application.app_context():
        for _ in range(2):
            send_email(key="k1", template="password_changed", to="a@example.com", subject="S", reset_link="x")
    assert len(list(outbox.glob("*.eml"))) == 1


def test_two_workers_delivering_the_same_email_send_it_once(app, inbox, monkeypatch):
    """Of two concurrent deliveries only one claims the email (no row locks needed, so SQLite too)."""
    import threading

    import pytest

    from app.notifications import outbox
    from app.notifications.email import DeliveryInProgress, _claim, deliver_email, record_email

    monkeypatch.setattr(outbox, "hand_over", lambda ids: None)  # recorded, not sent: the workers below send
    with app.app_context():
        from app.extensions import db

        message = record_email(
            key="race", template="password_changed", to="race@example.com", subject="Once", reset_link="x"
        )
        db.session.commit()
        email_id = message.id
        assert _claim(email_id) is True  # a first worker holds it (and is still sending)
        with pytest.raises(DeliveryInProgress):
            deliver_email(email_id)
    assert inbox.to("race@example.com") == []

    results = []

    def worker():
        with app.app_context():
            try:
                results.append(deliver_email(email_id))
            except DeliveryInProgress:
                results.append("busy")

    with app.app_context():  # the first worker died an hour ago: its claim is stale
        from datetime import timedelta

        from sqlalchemy import update

        from app.models import EmailMessage
        from app.models.base import utcnow

        db.session.execute(update(EmailMessage).values(updated_at=utcnow() - timedelta(hours=1)))
        db.session.commit()
    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(inbox.wait_for("race@example.com")) == 1
    assert sorted(results).count("sent") == 1
