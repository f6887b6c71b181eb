"""The one CSV writer every export uses (fund ledgers, import reject files, any CLI export).

A spreadsheet opens a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula, and one
that starts with a tab or carriage return may be read the same way after trimming: a donor named
``=HYPERLINK("http://evil.example","x")`` would become a live link in the club owner's sheet.
Following OWASP's rule (CSV Injection), such a text cell is written with a single quote in front,
which spreadsheets show as text and do not evaluate. The csv module's quoting already keeps commas,
quotes and newlines inside their cell, so nothing can start a new cell.

The *type* of a value decides, not its text: ``int``, ``Decimal`` and ``float`` values are numbers
the product computed (amounts, balances, ids, line numbers) and are written as they are, so a
negative amount stays ``-5.00`` and sums in the spreadsheet. Every ``str`` is text that may come
from a user and is neutralised when it starts with a dangerous character, even if it looks like a
number: a numeric column must be passed as a number (see ``money``), never as preformatted text.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import IO, Any

# OWASP: "= + - @", tab (0x09) and carriage return (0x0D) at the start of a cell.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def money(cents: int) -> Decimal:
    """An amount in cents as a number with two decimals (``-500`` → ``Decimal('-5.00')``)."""
    return Decimal(cents).scaleb(-2)


def safe_cell(value: Any) -> Any:
    """The value as a CSV cell a spreadsheet will not evaluate: numbers as they are, text neutralised."""
    if value is None:
        return ""
    if isinstance(value, bool):  # a bool is an int: write it as a word, not 1/0
        return "yes" if value else "no"
    if isinstance(value, int | Decimal | float):
        return value
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


class SafeCsvWriter:
    """``csv.writer`` over ``stream`` whose every cell goes through ``safe_cell``."""

    def __init__(self, stream: IO[str]) -> None:
        self._writer = csv.writer(stream)

    def writerow(self, row: Sequence[Any]) -> None:
        self._writer.writerow([safe_cell(value) for value in row])

    def writerows(self, rows: Iterable[Sequence[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A whole CSV document (header, then rows) as text, every cell neutralised."""
    out = io.StringIO()
    writer = SafeCsvWriter(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()
