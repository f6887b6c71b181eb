"""The shared CSV writer: OWASP's formula characters are neutralised in text, numbers are left alone."""

import csv
import io
from datetime import datetime
from decimal import Decimal

import pytest

from app.csv_export import csv_text, money


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1+1", "@SUM(A1)", "\t=1", "\r=1"])
def test_text_starting_like_a_formula_gets_a_leading_quote(text):
    [row] = list(csv.reader(io.StringIO(csv_text(["cell"], [[text]]))))[1:]
    assert row == ["'" + text]


def test_numbers_and_plain_text_are_written_as_they_are():
    body = csv_text(
        ["a", "b", "c", "d", "e", "f"],
        [[money(-550), -3, Decimal("2.5"), "Rosa, Reader", None, datetime(2026, 11, 5, 8, 30)]],
    )
    assert body.splitlines()[1] == '-5.50,-3,2.5,"Rosa, Reader",,2026-11-05 08:30:00'


def test_a_newline_cannot_start_a_new_row_or_cell():
    rows = list(csv.reader(io.StringIO(csv_text(["a", "b"], [["ok\n=1+1", "x,=2"]]))))
    assert rows[1] == ["ok\n=1+1", "x,=2"]
