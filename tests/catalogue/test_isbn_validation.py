"""ISBN validation on the import path: odd characters are refused with a reason, never a crash."""

import pytest

from app.catalogue.services import CatalogueError, book_data_from_row


def test_a_superscript_digit_in_an_isbn_is_refused_with_the_usual_message():
    # "²".isdigit() is true but int("²") fails: this used to escape as a bare ValueError.
    with pytest.raises(CatalogueError, match="not an ISBN-13 \\(must be 13 digits starting 978 or 979\\)"):
        book_data_from_row({"isbn": "978014143951²", "title": "T", "authors": "A", "price": "1"})


@pytest.mark.parametrize(
    ("raw", "isbn13"),
    [("978-0-14-143951-8", "9780141439518"), ("0-14-143951-3", "9780141439518"), ("080442957X", "9780804429573")],
)
def test_valid_isbns_are_normalised(raw, isbn13):
    data = book_data_from_row({"isbn": raw, "title": "T", "authors": "A", "price": "1"})
    assert data.isbn13 == isbn13
