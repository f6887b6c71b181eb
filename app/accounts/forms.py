"""Account forms (Flask-WTF, CSRF-protected)."""

from functools import lru_cache
from zoneinfo import available_timezones

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, EqualTo, InputRequired, Length, ValidationError

PASSWORD_MIN = 10
PASSWORD_MAX = 128


@lru_cache(maxsize=1)
def time_zone_choices() -> list[SelectChoice]:
    zones = sorted(z for z in available_timezones() if "/" in z or z == "UTC")
    return [SelectChoice(z, z.replace("_", " ")) for z in zones]


def _new_password(label: str = "Password") -> PasswordField:
    return PasswordField(
        label,
        validators=[
            DataRequired(),
            Length(
                min=PASSWORD_MIN,
                max=PASSWORD_MAX,
                message=f"Use {PASSWORD_MIN} to {PASSWORD_MAX} characters.",
            ),
        ],
        description=f"At least {PASSWORD_MIN} characters. A short sentence is easy to remember.",
    )


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _email_field(label: str = "Email") -> EmailField:
    return EmailField(
        label,
        filters=[_strip],
        validators=[DataRequired(), Email(message="Enter an email address like name@example.com."), Length(max=254)],
    )


class RegisterForm(FlaskForm):
    name = StringField(
        "Name", filters=[_strip], validators=[DataRequired(), Length(max=80)], description="Shown to your clubs."
    )
    email = _email_field()
    password = _new_password()
    confirm = PasswordField(
        "Repeat password", validators=[DataRequired(), EqualTo("password", message="The passwords do not match.")]
    )

    def validate_password(self, field):
        if self.email.data and field.data and field.data.strip().lower() == self.email.data.strip().lower():
            raise ValidationError("Your password cannot be your email address.")


class LoginForm(FlaskForm):
    email = _email_field()
    password = PasswordField("Password", validators=[DataRequired(), Length(max=PASSWORD_MAX)])
    remember = BooleanField("Keep me logged in on this device")


class ResetRequestForm(FlaskForm):
    email = _email_field()


class ResetPasswordForm(FlaskForm):
    password = _new_password("New password")
    confirm = PasswordField(
        "Repeat new password",
        validators=[DataRequired(), EqualTo("password", message="The passwords do not match.")],
    )


class ProfileForm(FlaskForm):
    name = StringField("Name", filters=[_strip], validators=[DataRequired(), Length(max=80)])
    email = _email_field()
    bio = TextAreaField("About you", validators=[Length(max=500)], description="Up to 500 characters.")
    time_zone = SelectField("Time zone", validators=[InputRequired()], default="UTC")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.time_zone.choices = time_zone_choices()


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[DataRequired(), Length(max=PASSWORD_MAX)])
    password = _new_password("New password")
    confirm = PasswordField(
        "Repeat new password",
        validators=[DataRequired(), EqualTo("password", message="The passwords do not match.")],
    )


class DeleteAccountForm(FlaskForm):
    password = PasswordField("Your password", validators=[DataRequired(), Length(max=PASSWORD_MAX)])
    confirm = BooleanField(
        "I understand that my account cannot be restored",
        validators=[DataRequired(message="Tick the box to confirm.")],
    )
