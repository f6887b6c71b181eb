"""Validating one book row, and genres that differ only in spelling."""

import pytest
from sqlalchemy import func, select

from app.catalogue.services import CatalogueError, book_data_from_row, upsert_books
from app.extensions import db
from app.models import Genre
from tests.factories import isbn_for

GOOD = {"isbn": "9780141439518", "title": "Pride and Prejudice", "authors": "Jane Austen", "price": "9.50"}


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"stock": "12.7"}, "stock '12.7' is not a whole number"),
        ({"stock": True}, "stock True is not a whole number"),
        ({"price_cents": 12.5, "price": None}, "price_cents 12.5 is not a whole number"),
        ({"authors": "A" * 201}, "author name longer than 200 characters"),
        ({"genres": "G" * 81}, "genre longer than 80 characters"),
        ({"publisher": "P" * 201}, "publisher longer than 200 characters"),
        ({"isbn": "9780141439519"}, "not a valid ISBN-13 (check digit)"),
        ({"price": "nine"}, "is not an amount like 12.99"),
    ],
)
def test_bad_rows_are_refused_with_a_reason(change, reason):
    with pytest.raises(CatalogueError, match=reason.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        book_data_from_row({**GOOD, **change})


def test_genres_are_one_genre_whatever_the_spelling(app_ctx):
    upsert_books(
        [
            book_data_from_row({**GOOD, "isbn": isbn_for(1), "genres": "Sci-Fi"}),
            book_data_from_row({**GOOD, "isbn": isbn_for(2), "genres": "sci fi"}),
        ]
    )
    upsert_books([book_data_from_row({**GOOD, "isbn": isbn_for(3), "genres": "SCI  FI"})])
    assert db.session.scalar(select(func.count(Genre.id))) == 1
