"""ISBN-13 and ISBN-10: validation and conversion."""

import re


class InvalidISBN(ValueError):
    """Not an ISBN; the message says why."""


SEPARATORS = re.compile(r"[\s-]")
ISBN10 = re.compile(r"\d{9}[\dX]")


def _digits(raw: str) -> str:
    return SEPARATORS.sub("", raw or "").upper()


def isbn13_check_digit(first12: str) -> str:
    # Weights 1, 3, 1, 3...: the digits at even places once, at odd places three times.
    total = sum(map(int, first12[0::2])) + 3 * sum(map(int, first12[1::2]))
    return str((10 - total % 10) % 10)


def isbn10_is_valid(isbn10: str) -> bool:
    if not ISBN10.fullmatch(isbn10):
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
        # isdecimal, not isdigit: "²" is a digit that int() refuses.
        if not value.isdecimal() or not value.startswith(("978", "979")):
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
