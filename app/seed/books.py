"""The demo catalogue: about 300 sample books, imported only into an empty catalogue.

A few of them get the sample cover images in ``covers/`` (named ``<isbn>-<slug>.jpg``), through the
same service as ``flask books cover``; the others show their generated covers.
"""

from pathlib import Path

from sqlalchemy import func, select

from app.extensions import db
from app.models import Book

SAMPLE_BOOKS = Path(__file__).resolve().parent / "data" / "books.csv"
SAMPLE_COVERS = Path(__file__).resolve().parent / "covers"


def seed_books() -> str:
    """Import the sample catalogue into an empty catalogue (never over a real one)."""
    from app.catalogue.importer import import_books

    existing = db.session.scalar(select(func.count(Book.id)))
    if existing:
        return f"Demo books: {existing} already in the catalogue, none imported."
    summary = import_books(SAMPLE_BOOKS)
    covers = seed_covers()
    return f"Demo books: {summary.inserted} imported from {SAMPLE_BOOKS.name}, {covers} with a sample cover image."


def seed_covers() -> int:
    """Give the sample cover images to their books (by the ISBN that starts each file name)."""
    from app.catalogue.covers import set_cover

    images = sorted(SAMPLE_COVERS.glob("*.jpg"))
    for image in images:
        set_cover(image.name.split("-", 1)[0], image)
    return len(images)
