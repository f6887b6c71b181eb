"""Every committed change to a book moves its cache versions on, whichever code made it.

The catalogue's services bump versions themselves (``caching.invalidate_books``); these session
hooks (``app/row_changes.py``) make it hold for any other write too: an order taking stock with
a conditional ``UPDATE``, a script, an admin command. The whole book page is cached under its
book's version (``app/catalogue/views.py``), so a write that forgot to say so would otherwise
leave it stale. A bulk statement that names no book moves ``ALL_BOOKS_VERSION`` on, which is part
of every book page's key.
"""

from __future__ import annotations

from app.models import Book
from app.row_changes import EVERY_ROW, watch

ALL_BOOKS_VERSION = "catalogue:all-books-version"


def _invalidate(changed: set) -> None:
    from app.catalogue.caching import bump, invalidate_books

    if EVERY_ROW in changed:
        changed.discard(EVERY_ROW)
        bump(ALL_BOOKS_VERSION)
    invalidate_books(sorted(changed))


install_book_changes = watch("books_changed", {Book: "id"}, _invalidate)
