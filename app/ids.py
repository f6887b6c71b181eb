"""Record ids as the database can hold them: the ``int`` URL converter and ``parse_id`` for form and query values.

Primary keys are 32-bit ``INTEGER`` columns, so a number above ``MAX_ID`` names nothing that can
exist. Passed to the database it is not "no such row" but an error (SQLite cannot bind it,
PostgreSQL refuses the comparison in some plans): it must stop at the edge as a 404 (a URL) or as
"no such thing" (a form or query value), never reach a query.
"""

from __future__ import annotations

import builtins
import re
from typing import Any

from flask import Flask
from werkzeug.routing import IntegerConverter

MAX_ID = 2**31 - 1  # PostgreSQL INTEGER; SQLite's 64-bit INTEGER holds more, but our ids never pass this
_DIGITS = re.compile(r"[0-9]{1,10}")


class IdConverter(IntegerConverter):
    """Werkzeug's ``int`` converter, bounded to what an id column holds: a larger number does not match (404)."""

    def __init__(self, map, fixed_digits=0, min=None, max=None, signed=False):  # noqa: A002 (Werkzeug's names)
        bound = MAX_ID if max is None else builtins.min(max, MAX_ID)
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=bound, signed=signed)


def parse_id(value: Any) -> int | None:
    """``value`` (text from a form or query, or an int) as an id that can exist, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        number = int(value.strip())
    else:
        return None
    return number if 1 <= number <= MAX_ID else None


def register_id_converter(app: Flask) -> None:
    """Make ``<int:...>`` in every route bounded; must run before the blueprints add their rules."""
    app.url_map.converters["int"] = IdConverter
