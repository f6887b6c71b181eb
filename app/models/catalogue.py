"""Books, their authors and genres."""

from datetime import datetime

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import TimestampMixin, UTCDateTime

book_authors = Table(
    "book_authors",
    db.metadata,
    Column("book_id", ForeignKey("books.id", ondelete="CASCADE"), primary_key=True),
    Column("author_id", ForeignKey("authors.id", ondelete="CASCADE"), primary_key=True, index=True),
    Column("position", Integer, nullable=False, default=0),
)

book_genres = Table(
    "book_genres",
    db.metadata,
    Column("book_id", ForeignKey("books.id", ondelete="CASCADE"), primary_key=True),
    Column("genre_id", ForeignKey("genres.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Author(db.Model):
    __tablename__ = "authors"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True, nullable=False)


class SearchWord(db.Model):
    """A word of some book's title or author names: what a misspelt search word is corrected to.

    Kept by the catalogue services as books are added and changed (app/catalogue/vocabulary.py);
    words of renamed or removed books may linger, which is harmless: a correction is offered only
    when the corrected search finds books. PostgreSQL adds a trigram index (see the migration).
    """

    __tablename__ = "search_words"

    word: Mapped[str] = mapped_column(String(64), primary_key=True)


class Genre(db.Model):
    __tablename__ = "genres"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True, nullable=False)
    slug: Mapped[str] = mapped_column(String(80), unique=True, nullable=False)


class Book(TimestampMixin, db.Model):
    __tablename__ = "books"
    __table_args__ = (
        CheckConstraint("price_cents >= 0", name="price_not_negative"),
        CheckConstraint("stock >= 0", name="stock_not_negative"),
        Index("ix_books_title", "title"),
        Index("ix_books_price_cents", "price_cents"),
        Index("ix_books_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    isbn13: Mapped[str] = mapped_column(String(13), unique=True, nullable=False)
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    slug: Mapped[str] = mapped_column(String(120), nullable=False)
    description: Mapped[str] = mapped_column(Text, default="", nullable=False)
    cover_url: Mapped[str | None] = mapped_column(String(500))
    # An uploaded cover (app/catalogue/covers.py): the content hash its files are named after, and
    # the size of its widest version, so pages can give every <img> its width and height.
    cover_key: Mapped[str | None] = mapped_column(String(64))
    cover_width: Mapped[int | None] = mapped_column(Integer)
    cover_height: Mapped[int | None] = mapped_column(Integer)
    publisher: Mapped[str | None] = mapped_column(String(200))
    year: Mapped[int | None] = mapped_column(Integer)
    language: Mapped[str] = mapped_column(String(8), default="en", nullable=False)
    price_cents: Mapped[int] = mapped_column(Integer, nullable=False)
    stock: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    # Author names joined, kept by the catalogue services: what full-text search indexes.
    authors_text: Mapped[str] = mapped_column(String(1000), default="", nullable=False)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    authors: Mapped[list[Author]] = relationship(
        secondary=book_authors, order_by=book_authors.c.position, lazy="raise_on_sql"
    )
    genres: Mapped[list[Genre]] = relationship(secondary=book_genres, order_by=Genre.name, lazy="raise_on_sql")

    @property
    def in_stock(self) -> bool:
        return self.stock > 0

    @property
    def author_names(self) -> str:
        """The authors in credit order, comma-separated, as a shelf or an offer records them
        (``authors`` must be loaded)."""
        return ", ".join(a.name for a in self.authors)

    def __repr__(self) -> str:
        return f"<Book {self.id} {self.isbn13} {self.title!r}>"
