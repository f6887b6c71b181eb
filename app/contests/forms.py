"""Contest and reading-log forms (Flask-WTF, CSRF-protected)."""

from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from app.formatting import zone_of
from app.ids import MAX_ID
from app.models import ContestKind, Metric, Scoring

DATETIME_LOCAL = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _choices(labels: dict[str, str]) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in labels.items()]


def _window_field(label: str) -> DateTimeLocalField:
    # The browser sends a naive local time: read it in the creator's time zone.
    return DateTimeLocalField(
        label, format=DATETIME_LOCAL, tz=lambda: zone_of(current_user), validators=[DataRequired()]
    )


class ContestForm(FlaskForm):
    title = StringField("Title", filters=[_strip], validators=[DataRequired(), Length(max=200)])
    description = TextAreaField("Description", filters=[_strip], validators=[Length(max=5000)])
    kind = SelectField("Kind", choices=_choices(ContestKind.LABELS), default=ContestKind.CLUBS)
    metric = SelectField("What counts", choices=_choices(Metric.LABELS), default=Metric.BOOKS_READ)
    scoring = SelectField("Scoring", choices=_choices(Scoring.LABELS), default=Scoring.TOTAL)
    starts_at = _window_field("Starts")
    ends_at = _window_field("Ends")
    prize = StringField("Prize", filters=[_strip], validators=[Length(max=300)])
    member_floor = IntegerField(
        "Member floor",
        default=3,
        validators=[InputRequired(), NumberRange(min=1, max=1000)],
        description="Per-member scoring divides by at least this many members.",
    )
    provisional_hours = IntegerField(
        "Provisional hours",
        validators=[InputRequired(), NumberRange(min=0, max=720)],
        description="Results stay provisional this long so owners can flag suspicious entries (0: final at once).",
    )
    host_club = SelectField("Host club", choices=[], default="")

    def limit_to(self, is_admin: bool, clubs) -> None:
        """Admins create any contest; club owners host club contests for a club they own."""
        club_choices = [SelectChoice(str(club.id), club.name) for club in clubs]
        if is_admin:
            self.host_club.choices = [SelectChoice("", "None (run by Book Commerce)"), *club_choices]
        else:
            self.kind.choices = _choices({ContestKind.CLUBS: ContestKind.LABELS[ContestKind.CLUBS]})
            self.host_club.choices = club_choices
        zone = getattr(zone_of(current_user), "key", "UTC")
        self.starts_at.description = self.ends_at.description = f"In your time zone ({zone})."

    def validate_ends_at(self, field):
        if field.data and self.starts_at.data and field.data <= self.starts_at.data:
            raise ValidationError("The contest must end after it starts.")


class EnterForm(FlaskForm):
    club_id = SelectField("Club", choices=[], validate_choice=False)


class FlagForm(FlaskForm):
    reading_log_id = IntegerField(
        "Reading-log entry number", validators=[InputRequired(), NumberRange(min=1, max=MAX_ID)]
    )
    reason = StringField("Why it looks wrong", filters=[_strip], validators=[DataRequired(), Length(max=500)])


class ReviewForm(FlaskForm):
    decision = SelectField("Decision", choices=[SelectChoice("uphold", "Uphold"), SelectChoice("dismiss", "Dismiss")])


class ReadingForm(FlaskForm):
    title = StringField("Title", filters=[_strip], validators=[DataRequired(), Length(max=300)])
    author = StringField("Author", filters=[_strip], validators=[Optional(), Length(max=200)])
    pages = IntegerField("Pages", validators=[InputRequired()])
    finished_on = DateField("Finished on", validators=[DataRequired()])
    confirm = BooleanField("Yes, I really read this")


class GoalForm(FlaskForm):
    books = IntegerField("Books to read this year", validators=[InputRequired(), NumberRange(min=1, max=1000)])
