"""ISBN-13 and ISBN-10: validation and conversion."""

import re


class InvalidISBN(ValueError):
    """Not an ISBN; the message says why."""


def _digits(raw: str) -> str:
    return re.sub(r"[\s-]", "", raw or "").upper()


def isbn13_check_digit(first12: str) -> str:
    total = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(first12))
    return str((10 - total % 10) % 10)


def isbn10_is_valid(isbn10: str) -> bool:
    if not re.fullmatch(r"\d{9}[\dX]", isbn10):
        return False
    total = sum((10 - i) * (10 if c == "X" else int(c)) for i, c in enumerate(isbn10))
    return total % 11 == 0


def normalise_isbn(raw: str) -> str:
    """The ISBN-13 for ``raw`` (ISBN-13 or ISBN-10, with or without hyphens), or InvalidISBN."""
    value = _digits(raw)
    if len(value) == 10:
        if not isbn10_is_valid(value):
            raise InvalidISBN(f"{raw!r} is not a valid ISBN-10 (check digit)")
        first12 = "978" + value[:9]
        return first12 + isbn13_check_digit(first12)
    if len(value) == 13:
        if not value.isdigit() or not value.startswith(("978", "979")):
            raise InvalidISBN(f"{raw!r} is not an ISBN-13 (must be 13 digits starting 978 or 979)")
        if isbn13_check_digit(value[:12]) != value[12]:
            raise InvalidISBN(f"{raw!r} is not a valid ISBN-13 (check digit)")
        return value
    raise InvalidISBN(f"{raw!r} is not an ISBN (need 10 or 13 digits)")


def looks_like_isbn(query: str) -> str | None:
    """The ISBN-13 if the whole search query is an ISBN, else None."""
    try:
        return normalise_isbn(query)
    except InvalidISBN:
        return None
