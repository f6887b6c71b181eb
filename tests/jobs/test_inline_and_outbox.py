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
