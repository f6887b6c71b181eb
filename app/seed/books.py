"""The demo catalogue: about 300 sample books, imported only into an empty catalogue."""

from pathlib import Path

from sqlalchemy import func, select

from app.extensions import db
from app.models import Book

SAMPLE_BOOKS = Path(__file__).resolve().parent / "data" / "books.csv"


def seed_books() -> str:
    """Import the sample catalogue into an empty catalogue (never over a real one)."""
    from app.catalogue.importer import import_books

    existing = db.session.scalar(select(func.count(Book.id)))
    if existing:
        return f"Demo books: {existing} already in the catalogue, none imported."
    summary = import_books(SAMPLE_BOOKS)
    return f"Demo books: {summary.inserted} imported from {SAMPLE_BOOKS.name}."
