"""The SMTP connection the mail job sends over: Flask-Mail's, with a timeout.

Flask-Mail opens ``smtplib.SMTP`` without one, so a server that accepts the connection and then
says nothing would hold a mail worker (or, on the embedded default, a request) for ever. A
timeout counts as a failure for the "smtp" circuit breaker (app/breakers.py, used by the
outbox's ``_Postbox``).
"""

from __future__ import annotations

import smtplib

from flask import current_app
from flask_mail import Connection


class _TimedConnection(Connection):
    """Flask-Mail's connection, giving up after MAIL_TIMEOUT_SECONDS on any one socket operation."""

    def configure_host(self) -> smtplib.SMTP:
        mail, timeout = self.mail, current_app.config["MAIL_TIMEOUT_SECONDS"]
        smtp = smtplib.SMTP_SSL if mail.use_ssl else smtplib.SMTP
        host = smtp(mail.server, mail.port, timeout=timeout)
        host.set_debuglevel(int(mail.debug))
        if mail.use_tls:
            host.starttls()
        if mail.username and mail.password:
            host.login(mail.username, mail.password)
        return host


def timed_connection() -> Connection:
    """Like Flask-Mail's ``mail.connect()``: a connection opened by ``__enter__`` (EHLO, STARTTLS, LOGIN)."""
    return _TimedConnection(current_app.extensions["mail"])
