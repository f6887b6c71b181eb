"""The field types of the API's shapes: each one validates what comes in, writes what goes out and
documents itself in the OpenAPI document, so a rule is stated once.

Bounds that the site configures (donation amounts) are read from ``current_app.config`` when a
request is checked and when the document is built, never frozen at import.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urljoin

from flask import current_app, url_for
from marshmallow import ValidationError, fields, validate

MAX_ID = 2**31 - 1  # ids are 32-bit integers in the database: larger ones cannot exist

# Every character ``str.strip()`` removes: a text matching NOT_BLANK (an ECMA regex, for the
# contract) is one the services do not find empty. NUL is refused in every text (NO_NUL): no
# database stores it, so the contract says so and ``Text`` answers 422 naming the field.
BLANK = "".join(c for c in map(chr, range(0x3001)) if c.isspace())
NUL_MESSAGE = "Must not contain NUL characters (\\0)."
NO_NUL = "^[^\\u0000]*$"
NOT_BLANK = "^[^\\u0000]*[^\\u0000" + "".join(f"\\u{ord(c):04x}" for c in BLANK) + "][^\\u0000]*$"


def clean(text: str) -> str:
    """Without unpaired surrogates (no driver sends them)."""
    return text.encode("utf-8", "replace").decode("utf-8")


class Text(fields.String):
    """Text of at most ``max_length`` characters, without NUL characters (refused) or unpaired
    surrogates (replaced; see ``clean``).

    ``blank=False`` refuses text that is only spaces; ``cut=True`` (query arguments) cuts long text to
    ``max_length`` after stripping it, as the site's search forms do, instead of refusing it.
    ``drop_nul=True`` (map keys, which the contract cannot constrain) removes NULs instead. A field
    validated by its own ``validate.Regexp`` states its pattern there (excluding NUL itself).
    """

    def __init__(
        self, max_length: int | None = None, *, blank: bool = True, cut: bool = False, drop_nul: bool = False, **kwargs
    ):
        metadata = kwargs.pop("metadata", {})
        extra = kwargs.pop("validate", None) or []
        extra = extra if isinstance(extra, list) else [extra]
        if not drop_nul and not any(isinstance(v, validate.Regexp) for v in extra):
            metadata.setdefault("pattern", NO_NUL if blank else NOT_BLANK)
        validators = [] if cut or max_length is None else [validate.Length(max=max_length)]
        validators += extra
        super().__init__(validate=validators, metadata=metadata, **kwargs)
        self.max_length, self.blank, self.cut, self.drop_nul = max_length, blank, cut, drop_nul

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if "\x00" in text:
            if not self.drop_nul:
                raise ValidationError(NUL_MESSAGE)
            text = text.replace("\x00", "")
        text = clean(text)
        if self.cut:
            text = text.strip()[: self.max_length]
        if not self.blank and not text.strip():
            raise ValidationError("Must not be blank.")
        return text


class Slug(fields.String):
    """A club's slug (lower-case letters, digits and hyphens)."""

    PATTERN = r"^[a-z0-9-]{1,80}$"

    def __init__(self, **kwargs):
        super().__init__(validate=validate.Regexp(self.PATTERN, error="Give a club's slug."), **kwargs)


class Whole(fields.Integer):
    """A whole number: in JSON, 3.0 is one and true is not; in a query, text of digits."""

    def __init__(self, *, strict: bool = True, **kwargs):
        super().__init__(strict=strict, **kwargs)

    def _validated(self, value):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return super()._validated(value)


class Id(Whole):
    """A database id: a whole number from 1 to 2³¹−1."""

    def __init__(self, **kwargs):
        super().__init__(validate=validate.Range(1, MAX_ID, error=f"Give an id from 1 to {MAX_ID}."), **kwargs)


class Flag(fields.Boolean):
    """true or false: in JSON only the booleans; in a query (``query=True``) the words true and false."""

    def __init__(self, *, query: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.query = query

    def _deserialize(self, value, attr, data, **kwargs) -> bool:
        if self.query and value in ("true", "false"):
            return value == "true"
        if not self.query and isinstance(value, bool):
            return value
        raise self.make_error("invalid", input=value)


class ConfigRange(validate.Validator):
    """A whole number between two configured bounds (config keys), read when it is checked."""

    def __init__(self, low_key: str, high_key: str, message: str):
        self.low_key, self.high_key, self.message = low_key, high_key, message

    def bounds(self) -> tuple[int, int]:
        return current_app.config[self.low_key], current_app.config[self.high_key]

    def __call__(self, value: int) -> int:
        low, high = self.bounds()
        if not low <= value <= high:
            raise ValidationError(self.message.format(low=low, high=high))
        return value


def config_range_to_properties(self, field, **kwargs) -> dict:
    """apispec attribute function: a ``ConfigRange`` as minimum and maximum (the app's config)."""
    for validator in field.validators:
        if isinstance(validator, ConfigRange):
            low, high = validator.bounds()
            return {"minimum": low, "maximum": high}
    return {}


class Timestamp(fields.DateTime):
    """An ISO 8601 moment in UTC, ending in ``Z``."""

    def _serialize(self, value: datetime | None, attr, obj, **kwargs):
        return None if value is None else value.astimezone(UTC).isoformat().replace("+00:00", "Z")


class PageUrl(fields.String):
    """The absolute address of the site's page for the object: ``url_for(endpoint, arg=obj.attr, ...)``."""

    def __init__(self, endpoint: str, **args: str):
        super().__init__(dump_only=True, metadata={"format": "uri"})
        self.endpoint, self.args = endpoint, args

    def serialize(self, attr, obj, accessor=None, **kwargs):
        values = {name: self.get_value(obj, path, accessor=accessor) for name, path in self.args.items()}
        return url_for(self.endpoint, _external=True, **values)


class SiteAddress(fields.String):
    """An address stored as a path on this site (or a full URL), answered absolute."""

    def __init__(self, **kwargs):
        metadata = {"format": "uri", **kwargs.pop("metadata", {})}
        super().__init__(dump_only=True, allow_none=True, metadata=metadata, **kwargs)

    def _serialize(self, value: str | None, attr, obj, **kwargs):
        return urljoin(url_for("main.index", _external=True), value) if value else None
