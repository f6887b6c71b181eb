"""Forms every domain uses."""

from flask_wtf import FlaskForm


class ConfirmForm(FlaskForm):
    """A form with only the CSRF token, for POST buttons (log out, resend link, cancel, mark read)."""
