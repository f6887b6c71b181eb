"""Reading what the shell sends: query arguments and JSON fields, checked as the contract says.

Each check matches the schema its operation declares, so input the contract forbids is refused
with one 422 naming every bad field, and input it allows is accepted. Text loses NUL characters
(no database stores them) and unpaired surrogates, so no input can fail in the driver.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import request

from app.api.common import ApiError, invalid, page_args, paginated
from app.api.serializers import MAX_ID

# Every character ``str.strip()`` removes, and NUL (which ``clean`` removes): a text matching
# NOT_BLANK (an ECMA regex, for the contract) is one the services do not find empty.
BLANK = "".join(c for c in map(chr, range(0x3001)) if c.isspace()) + "\x00"
NOT_BLANK = "[^" + "".join(f"\\u{ord(c):04x}" for c in BLANK) + "]"


def clean(text: str) -> str:
    return text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


class Fields:
    """Collects the errors of one request's fields; ``check()`` raises them together."""

    def __init__(self, source: Mapping[str, Any]):
        self.source = source
        self.errors: dict[str, list[str]] = {}

    def fail(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)

    def check(self) -> None:
        if self.errors:
            raise invalid(self.errors)

    def given(self, name: str) -> bool:
        return name in self.source


class QueryArgs(Fields):
    """Query-string arguments (all text until read as something else)."""

    def __init__(self):
        super().__init__(request.args)

    def text(self, name: str, max_length: int) -> str:
        """Free text, cut to ``max_length`` as the site's forms cut it."""
        return clean(self.source.get(name, "")).strip()[:max_length]

    def choice(self, name: str, choices: Iterable[str], default: str | None) -> str | None:
        if name not in self.source:
            return default
        value = self.source[name]
        options = list(choices)
        if value not in options:
            self.fail(name, f"Choose one of: {', '.join(options)}.")
            return default
        return value

    def boolean(self, name: str, default: bool = False) -> bool:
        value = self.choice(name, ("true", "false"), None)
        return default if value is None else value == "true"

    def integer(self, name: str, minimum: int, maximum: int, default: int | None = None) -> int | None:
        if name not in self.source:
            return default
        raw = self.source[name]
        if not re.fullmatch(r"-?[0-9]{1,12}", raw) or not minimum <= int(raw) <= maximum:
            self.fail(name, f"Must be a whole number from {minimum} to {maximum}.")
            return default
        return int(raw)

    def dollars(self, name: str, maximum: int) -> int | None:
        """An amount in dollars (like 12.50) as whole cents."""
        if name not in self.source:
            return None
        try:
            value = Decimal(self.source[name].strip())
        except InvalidOperation:
            value = None
        if value is None or not value.is_finite() or not 0 <= value <= maximum:
            self.fail(name, f"Give an amount in dollars from 0 to {maximum}, like 12.50.")
            return None
        return int(value * 100)

    def pages(self) -> tuple[int, int]:
        try:
            return page_args()
        except ApiError as exc:
            self.errors.update(exc.errors or {})
            return 1, 20


class JsonFields(Fields):
    """The fields of a JSON object body, each of the type the contract declares."""

    @classmethod
    def of_body(cls, required: bool = True) -> JsonFields:
        """The request's JSON object; no body at all is an empty object unless one is ``required``."""
        data = request.get_json(silent=True)
        if data is None and not required and not request.get_data():
            data = {}
        if not isinstance(data, dict):
            raise ApiError(400, "Bad Request", "Send a JSON object with Content-Type: application/json.")
        return cls(data)

    def text(self, name: str, max_length: int, required: bool = False, blank: bool = True) -> str:
        """Text of at most ``max_length`` characters; with ``blank=False`` (see NOT_BLANK) not only spaces."""
        if name not in self.source:
            if required:
                self.fail(name, "Give some text.")
            return ""
        value = self.source[name]
        if not isinstance(value, str):
            self.fail(name, "Must be text.")
            return ""
        if len(value) > max_length:
            self.fail(name, f"Keep it to {max_length} characters.")
            return ""
        value = clean(value)
        if not blank and not value.strip():
            self.fail(name, "Must not be blank.")
        return value

    def choice(self, name: str, choices: Iterable[str], required: bool = True) -> str | None:
        options = list(choices)
        if name not in self.source and not required:
            return None
        value = self.source.get(name)
        if not isinstance(value, str) or value not in options:
            self.fail(name, f"Choose one of: {', '.join(options)}.")
            return None
        return value

    def boolean(self, name: str, default: bool = False) -> bool:
        value = self.source.get(name, default)
        if not isinstance(value, bool):
            self.fail(name, "Must be true or false.")
            return default
        return value

    def integer(
        self, name: str, minimum: int = 1, maximum: int = MAX_ID, required: bool = False, what: str = "a whole number"
    ) -> int | None:
        if name not in self.source and not required:
            return None
        value = self.source.get(name)
        # JSON has one number type: 3.0 is a whole number, True is not.
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool) or not minimum <= value <= maximum:
            self.fail(name, f"Give {what} from {minimum} to {maximum}.")
            return None
        return value

    def ids(self, name: str, max_items: int) -> list[int] | None:
        if name not in self.source:
            return None
        value = self.source[name]
        if isinstance(value, list):
            value = [int(v) if isinstance(v, float) and v.is_integer() else v for v in value]
        if (
            not isinstance(value, list)
            or len(value) > max_items
            or any(isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= MAX_ID for v in value)
        ):
            self.fail(name, f"Give a list of at most {max_items} ids.")
            return None
        return value

    def text_map(self, name: str, max_items: int, max_length: int) -> dict[str, str]:
        """An object of text values (answers to questions, keyed by the question)."""
        if name not in self.source:
            return {}
        value = self.source[name]
        if (
            not isinstance(value, dict)
            or len(value) > max_items
            or any(not isinstance(v, str) or len(v) > max_length for v in value.values())
        ):
            self.fail(name, f"Give an object of at most {max_items} answers, each up to {max_length} characters.")
            return {}
        return {clean(k): clean(v) for k, v in value.items()}


def list_page(rows: list, page: int, per_page: int, serialize: Callable, endpoint: str, **echo):
    """A page of a short list already in memory, with the headers of every API list (past the end: the last)."""
    page = min(page, max(1, -(-len(rows) // per_page)))
    chunk = rows[(page - 1) * per_page : page * per_page]
    return paginated([serialize(row) for row in chunk], len(rows), page, per_page, endpoint, **echo)


# ---- How the contract describes parameters --------------------------------------------------


def query_param(name: str, schema: dict, description: str) -> dict:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


def path_param(name: str, schema: dict, description: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": schema, "description": description}


PAGE_PARAMS = [
    query_param("page", {"type": "integer", "minimum": 1}, "The page, from 1 (past the last: the last)."),
    query_param("per_page", {"type": "integer", "minimum": 1, "maximum": 100}, "Items a page (20 unless given)."),
]
LIST_HEADERS = {
    "Link": {"description": "first, prev, next and last pages", "schema": {"type": "string"}},
    "X-Total-Count": {"description": "Items in the whole list", "schema": {"type": "string", "pattern": "^[0-9]+$"}},
}
