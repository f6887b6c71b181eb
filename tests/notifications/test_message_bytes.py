"""The bytes an email goes out as: the direct writer (``_Message.as_bytes``, ``send_over``) gives
exactly what Flask-Mail's message through the email package gives, headers, parts, line ends and
the SMTP envelope alike."""

from __future__ import annotations

import itertools
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from flask_mail import BadHeaderError, Message

from app import create_app
from app.notifications import email as email_module
from app.notifications.email import _Message
from tests.conftest import free_port, make_config

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


class Envelopes:
    """An SMTP server that keeps each message's envelope and bytes."""

    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler hook
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 OK"


def test_the_direct_send_gives_the_server_what_flask_mail_gives(mail_app, monkeypatch):
    handler = Envelopes()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    mail_app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port)
    mail = mail_app.extensions["mail"]
    monkeypatch.setattr(mail, "server", "127.0.0.1")
    monkeypatch.setattr(mail, "port", controller.port)
    monkeypatch.setattr(mail, "suppress", False)
    try:
        for recipient in RECIPIENTS:
            for send in (lambda m, c: m.send_over(c), lambda m, c: c.send(m)):
                monkeypatch.setattr(email_module.uuid, "uuid4", lambda: type("U", (), {"hex": "0" * 32})())
                message = _Message(subject=SUBJECTS[1], recipients=[recipient], sender=SENDERS[2], body="b\n", html="h")
                message.msgId, message.date = "<1@books.example.com>", 1_790_000_000.0
                with mail.connect() as connection:
                    send(message, connection)
            direct, generated = handler.received[-2:]
            assert direct == generated
            assert direct[1] == [recipient.rpartition("<")[2].rstrip(">")]
        with mail.connect() as connection, pytest.raises(BadHeaderError):
            _Message(subject="Hi\nBcc: x@example.com", recipients=["r@example.com"], body="b", html="h").send_over(
                connection
            )
    finally:
        controller.stop()
    assert len(handler.received) == 2 * len(RECIPIENTS)
