"""Columns and helpers every model shares."""

from datetime import UTC, datetime

from sqlalchemy import DateTime
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Timestamps stored in UTC and always read back timezone-aware (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("naive datetime given; use an aware UTC datetime")
            value = value.astimezone(UTC)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False)


def render_migration_item(type_, obj, autogen_context):
    """Write our column types into migrations as plain SQLAlchemy types (no app imports there)."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


# Search structures that migrations create per database and the models do not describe:
# SQLite's FTS5 table (and its shadow tables), PostgreSQL's generated tsvector column and GIN indexes.
SEARCH_ONLY_TABLES = ("books_fts",)
SEARCH_ONLY_COLUMNS = ("search_vector", "title_vector")
# PostgreSQL's indexes: the tsvector's, and search_words' trigram and byte-order prefix indexes.
SEARCH_ONLY_INDEXES = ("ix_books_search", "ix_search_words_trgm", "ix_search_words_prefix")


def include_in_migrations(obj, name, type_, reflected, compare_to):
    """Leave database-specific search structures out of autogenerate comparisons."""
    if type_ == "table" and name and name.startswith(SEARCH_ONLY_TABLES):
        return False
    if type_ == "column" and name in SEARCH_ONLY_COLUMNS:
        return False
    return not (type_ == "index" and name and name.startswith(SEARCH_ONLY_INDEXES))
