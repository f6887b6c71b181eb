"""Forms every domain uses."""

from flask_wtf import FlaskForm


class ConfirmForm(FlaskForm):
    """A form with only the CSRF token, for POST buttons (log out, resend link, cancel, mark read)."""


def form_status(form: FlaskForm, error: str | None) -> int:
    """422 when the form's fields or the service refused the input, else 200."""
    return 422 if (form.errors or error) else 200
