"""Scores read the same everywhere: fixed precision per metric, and the unit."""

import pytest

from app.formatting import format_score
from app.models import Metric, Scoring


@pytest.mark.parametrize(
    ("metric", "scoring", "value", "shown"),
    [
        (Metric.PAGES_READ, Scoring.TOTAL, 1321, "1,321 pages"),
        (Metric.PAGES_READ, Scoring.PER_MEMBER, 1321.3333, "1,321.3 pages per member"),
        (Metric.PAGES_READ, Scoring.PER_MEMBER, 1321.2, "1,321.2 pages per member"),
        (Metric.PAGES_READ, Scoring.PER_MEMBER, 1269, "1,269.0 pages per member"),
        (Metric.PAGES_READ, Scoring.TOTAL, 1, "1 page"),
        (Metric.BOOKS_READ, Scoring.TOTAL, 2, "2 books"),
        (Metric.BOOKS_READ, Scoring.TOTAL, 1, "1 book"),
        (Metric.BOOKS_READ, Scoring.PER_MEMBER, 2.5, "2.5 books per member"),
        (Metric.BOOKS_DONATED, Scoring.TOTAL, 3, "3 books donated"),
        (Metric.MONEY_DONATED, Scoring.TOTAL, 3000, "$30.00"),
        (Metric.MONEY_DONATED, Scoring.PER_MEMBER, 1234.5678, "$12.35 per member"),
        ("something_new", Scoring.TOTAL, 7, "7 points"),
    ],
)
def test_a_score_has_fixed_precision_and_its_unit(metric, scoring, value, shown):
    assert format_score(value, metric, scoring) == shown


def test_every_metric_has_its_own_unit():
    for metric in Metric.LABELS:
        assert "point" not in format_score(2, metric)


def test_language_names_are_pycountrys_for_every_code():
    import pycountry

    from app.formatting import language_name

    for language in pycountry.languages:
        assert language_name(language.alpha_3) == language.name
        if hasattr(language, "alpha_2"):
            assert language_name(language.alpha_2) == language_name(language.alpha_2.upper()) == language.name
    assert language_name("zz") == "zz" and language_name("") == "" and language_name(None) == ""


def test_a_book_page_names_its_language_without_pycountrys_language_objects(app, client, monkeypatch):
    """pycountry's objects for 7,900 languages held 6.3 MB in every web worker: the page reads
    the names from its data file instead."""
    import pycountry

    def not_here(*args, **kwargs):
        raise AssertionError("pycountry's language objects were loaded")

    monkeypatch.setattr(type(pycountry.languages), "_load", not_here)
    monkeypatch.setattr(type(pycountry.languages), "get", not_here)

    from tests.factories import isbn_for, make_book

    with app.app_context():
        book = make_book(title="Le Petit Prince", isbn=isbn_for(9), language="fr")
        path = f"/books/{book.id}/{book.slug}"
    assert "<dd>French</dd>" in client.get(path).get_data(as_text=True)
