"""What the sitemap lists: one query per kind, whatever the size of the catalogue."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from app.extensions import db
from app.models import Book, Club, Contest, ContestStatus
from app.models.clubs import Visibility


@dataclass
class SitemapEntries:
    books: list  # rows of (id, slug, updated_at)
    clubs: list  # rows of (slug, updated_at)
    contests: list  # rows of (id, updated_at)


def sitemap_entries() -> SitemapEntries:
    """Books on sale, public clubs in the directory, and contests past their draft, in three queries."""
    books = db.session.execute(
        select(Book.id, Book.slug, Book.updated_at).where(Book.removed_at.is_(None)).order_by(Book.id)
    ).all()
    clubs = db.session.execute(
        select(Club.slug, Club.updated_at)
        .where(Club.visibility == Visibility.PUBLIC, Club.closed_at.is_(None), Club.hidden.is_(False))
        .order_by(Club.id)
    ).all()
    contests = db.session.execute(
        select(Contest.id, Contest.updated_at).where(Contest.status != ContestStatus.DRAFT).order_by(Contest.id)
    ).all()
    return SitemapEntries(books=list(books), clubs=list(clubs), contests=list(contests))
