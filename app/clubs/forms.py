"""Club forms: the directory's search (GET) and the club's details (new and edit)."""

from decimal import ROUND_HALF_UP, Decimal

from flask_wtf import FlaskForm
from wtforms import (
    DecimalField,
    FloatField,
    IntegerField,
    RadioField,
    SearchField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from app.clubs.queries import DirectoryParams
from app.clubs.services import MAX_QUESTIONS
from app.models import Club, Visibility

QUESTION_MAX = 200
GOAL_MAX_DOLLARS = 1_000_000


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class DirectoryForm(FlaskForm):
    """The directory's search and filters (a GET form: no CSRF, bookmarkable)."""

    class Meta:
        csrf = False

    q = SearchField("Search clubs", filters=[_strip], description="A club's name, or its city, region or country.")
    city = SelectField("City", choices=[SelectChoice("", "Any city")], validate_choice=False)
    country = SelectField("Country", choices=[SelectChoice("", "Any country")], validate_choice=False)
    near = StringField("Near", filters=[_strip], description="A city, or “latitude, longitude”: nearest clubs first.")
    page = IntegerField("Page", default=1, validators=[Optional(), NumberRange(min=1, max=100000)])

    def set_places(self, cities: list[str], countries: list[str]) -> None:
        self.city.choices = [SelectChoice("", "Any city")] + [SelectChoice(c) for c in cities]
        self.country.choices = [SelectChoice("", "Any country")] + [SelectChoice(c) for c in countries]

    def to_params(self) -> DirectoryParams:
        """The parameters, leaving out any field that did not validate."""
        return DirectoryParams(
            q=(self.q.data or "")[:200],
            city=(self.city.data or "")[:120],
            country=(self.country.data or "")[:80],
            near=(self.near.data or "")[:100],
            page=self.page.data if not self.page.errors and self.page.data else 1,
        )


class ClubForm(FlaskForm):
    """A club's details: the same form creates and edits."""

    name = StringField("Name", filters=[_strip], validators=[DataRequired(), Length(max=120)])
    description = TextAreaField(
        "About the club",
        filters=[_strip],
        validators=[Length(max=4000)],
        description="What you read, when and where you meet. Up to 4000 characters.",
    )
    city = StringField("City", filters=[_strip], validators=[DataRequired(), Length(max=120)])
    region = StringField("Region", filters=[_strip], validators=[Optional(), Length(max=120)])
    country = StringField("Country", filters=[_strip], validators=[DataRequired(), Length(max=80)])
    latitude = FloatField(
        "Latitude",
        validators=[Optional(), NumberRange(min=-90, max=90, message="A latitude is between -90 and 90.")],
        description="Optional, like 48.8566: lets readers nearby find you.",
    )
    longitude = FloatField(
        "Longitude",
        validators=[Optional(), NumberRange(min=-180, max=180, message="A longitude is between -180 and 180.")],
        description="Optional, like 2.3522.",
    )
    visibility = RadioField(
        "Who can see inside",
        choices=[
            SelectChoice(Visibility.PUBLIC, "Public: anyone sees the club and can join at once"),
            SelectChoice(Visibility.PRIVATE, "Private: outsiders see the name and place, and ask to join"),
        ],
        default=Visibility.PUBLIC,
    )
    donation_goal = DecimalField(
        "Donation goal ($)",
        places=2,
        validators=[
            Optional(),
            NumberRange(min=0, max=GOAL_MAX_DOLLARS, message=f"Set a goal between $0 and ${GOAL_MAX_DOLLARS:,}."),
        ],
        description="Optional: shown as a progress bar on the club page.",
    )
    join_questions = TextAreaField(
        "Join questions",
        description=f"One question a line, at most {MAX_QUESTIONS}. Readers answer them when they ask to join.",
    )

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        lat, lon = self.latitude, self.longitude
        if not lat.errors and not lon.errors and (lat.data is None) != (lon.data is None):
            missing = lat if lat.data is None else lon
            missing.errors = [*missing.errors, "Give both a latitude and a longitude, or neither."]
            return False
        return valid

    def validate_join_questions(self, field):
        questions = self.questions()
        if len(questions) > MAX_QUESTIONS:
            raise ValidationError(f"Ask at most {MAX_QUESTIONS} questions (one a line).")
        if any(len(q) > QUESTION_MAX for q in questions):
            raise ValidationError(f"Keep each question under {QUESTION_MAX} characters.")

    def questions(self) -> list[str]:
        return [line.strip() for line in (self.join_questions.data or "").splitlines() if line.strip()]

    def goal_cents(self) -> int:
        if self.donation_goal.data is None:
            return 0
        return int((Decimal(self.donation_goal.data) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))

    def to_fields(self) -> dict:
        """The keyword arguments for ``create_club`` and ``update_club``."""
        return {
            "name": self.name.data,
            "description": self.description.data or "",
            "city": self.city.data,
            "region": self.region.data or "",
            "country": self.country.data,
            "latitude": self.latitude.data,
            "longitude": self.longitude.data,
            "visibility": self.visibility.data,
            "donation_goal_cents": self.goal_cents(),
            "join_questions": self.questions(),
        }

    @staticmethod
    def data_of(club: Club) -> dict:
        """The form's starting values for an existing club."""
        return {
            "name": club.name,
            "description": club.description,
            "city": club.city,
            "region": club.region,
            "country": club.country,
            "latitude": club.latitude,
            "longitude": club.longitude,
            "visibility": club.visibility,
            "donation_goal": Decimal(club.donation_goal_cents) / 100 if club.donation_goal_cents else None,
            "join_questions": "\n".join(club.join_questions),
        }
