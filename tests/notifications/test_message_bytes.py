"""The bytes an email goes out as: the direct writer (``_Message.as_bytes``) gives exactly what
Flask-Mail's message through the email package gives, headers, parts and line ends alike."""

from __future__ import annotations

import itertools
from email import message_from_bytes, policy

import pytest
from flask_mail import Message

from app import create_app
from app.notifications import email as email_module
from app.notifications.email import _Message
from tests.conftest import make_config

SUBJECTS = [
    "Your receipt",
    "Results of “The Spring Readathon”",
    "Results of “" + "a very long contest title " * 6 + "”",
    "Two  spaces and a tab\there",
    " leading and trailing space ",
    "x" * 200,
    "Zoë’s club: “Ünïcode” — and more",
]
RECIPIENTS = ["reader1@example.com", "Zoë Reader <zoe@example.com>", "A Reader <a.reader@example.com>"]
SENDERS = ["Book Commerce <noreply@bookcommerce.local>", "noreply@example.com", "Bücher <noreply@example.com>"]
BODIES = [
    "Hello\nline two\n",
    "ünïcode\r\nwith CRLF\rand a lone CR\n.a dot line\nFrom the start\n",
    "no newline at the end",
    "",
    "a very long line " * 100 + "\n\n\n",
]


@pytest.fixture
def mail_app(base_settings):
    application = create_app(make_config(**base_settings))
    with application.app_context():
        yield application


def both_ways(monkeypatch, **fields) -> tuple[bytes, bytes]:
    """The message written directly and by the email package, with the same boundaries and date."""

    def counter():
        numbers = itertools.count()
        return lambda: type("U", (), {"hex": f"{next(numbers):032x}"})()

    message = _Message(**fields)
    message.msgId = "<0123abcd@books.example.com>"
    message.date = 1_790_000_000.5
    monkeypatch.setattr(email_module.uuid, "uuid4", counter())
    direct = message.as_bytes()
    monkeypatch.setattr(email_module.uuid, "uuid4", counter())
    generated = message._message().as_bytes()
    return direct, generated


def test_the_direct_bytes_are_the_email_packages(mail_app, monkeypatch):
    compared = 0
    for subject, recipient, sender, (text, html) in itertools.product(
        SUBJECTS, RECIPIENTS, SENDERS, zip(BODIES, reversed(BODIES), strict=True)
    ):
        direct, generated = both_ways(
            monkeypatch, subject=subject, recipients=[recipient], sender=sender, body=text, html=html
        )
        assert direct == generated, (subject, recipient, sender, text[:40], html[:40])
        compared += 1
    assert compared == len(SUBJECTS) * len(RECIPIENTS) * len(SENDERS) * len(BODIES)


def test_a_reader_sees_the_same_headers_and_parts(mail_app, monkeypatch):
    direct, _ = both_ways(
        monkeypatch,
        subject="Results of “Readathon”",
        recipients=["Zoë <zoe@example.com>"],
        sender=SENDERS[0],
        body="Dear Zoë,\nyou came 2nd.\n",
        html="<p>Dear Zoë,</p>\n",
    )
    parsed = message_from_bytes(direct, policy=policy.default)
    assert parsed["Subject"] == "Results of “Readathon”"
    assert parsed["To"] == "Zoë <zoe@example.com>"
    assert parsed["Message-ID"] == "<0123abcd@books.example.com>"
    assert parsed.get_body(("plain",)).get_content().replace("\r\n", "\n") == "Dear Zoë,\nyou came 2nd.\n"
    assert parsed.get_body(("html",)).get_content().replace("\r\n", "\n") == "<p>Dear Zoë,</p>\n"


def test_messages_with_attachments_go_through_the_email_package(mail_app, monkeypatch):
    calls = []
    original = Message.as_bytes
    monkeypatch.setattr(Message, "as_bytes", lambda self: calls.append(self) or original(self))
    message = _Message(subject="Receipt", recipients=["r@example.com"], sender=SENDERS[0], body="b", html="<p>b</p>")
    message.attach("invoice.pdf", "application/pdf", b"%PDF-1.4 data")
    parsed = message_from_bytes(message.as_bytes(), policy=policy.default)
    assert calls == [message]
    [attachment] = list(parsed.iter_attachments())
    assert attachment.get_filename() == "invoice.pdf"
    assert attachment.get_content() == b"%PDF-1.4 data"
