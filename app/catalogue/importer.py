"""Importing books from CSV or JSON Lines: stream, validate, upsert in batches, report the rejects.

A bad row never stops the import or leaves half a batch written: it is set aside with its line
number and reasons, and written to a rejects file (CSV: line, reason, raw) that can be fixed and
imported again. A ``cover_file`` column names an image (relative to the imported file) that becomes the
book's cover. The rejects file goes through ``app.csv_export``: a raw line that starts like a
formula (``=``, ``+``, ``-``, ``@``) is written with a leading ``'`` so a spreadsheet shows it as text.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from sqlalchemy.exc import SQLAlchemyError

from app.catalogue.covers import CoverError, read_cover_file, store_cover_image
from app.catalogue.services import (
    BookData,
    CatalogueError,
    book_data_from_row,
    invalidation_deferred,
    upsert_books,
)
from app.catalogue.upserts import NameCache
from app.csv_export import SafeCsvWriter
from app.extensions import db

CSV_SUFFIXES = (".csv",)
JSONL_SUFFIXES = (".jsonl", ".ndjson")
# A file with many rejects is described in full by the rejects file; the summary keeps the first.
MAX_REJECTS_KEPT = 1000
# Rows per transaction: each batch costs a fixed number of statements, so bigger batches are
# cheaper per row, up to where a refused batch retried row by row starts to hurt.
DEFAULT_BATCH_SIZE = 5000


@dataclass
class Reject:
    line: int
    reason: str
    raw: str


@dataclass
class ImportSummary:
    path: str
    inserted: int = 0
    updated: int = 0
    rejected: int = 0
    rejects: list[Reject] = field(default_factory=list)  # the first MAX_REJECTS_KEPT of them
    rejects_path: str | None = None  # set only when a rejects file was written


@dataclass
class _Row:
    """One record of the file: its first line, its text, and either its fields or why it is unreadable."""

    line: int
    raw: str
    fields: dict[str, Any] | None = None
    problem: str | None = None


class _Lines:
    """Decoded lines of a file opened in binary, counting bytes and remembering the lines of a record.

    The csv module pulls lines one record at a time, so what ``take()`` returns after each record
    is exactly that record's text.
    """

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self._pending: list[str] = []
        self.bytes_read = 0
        self.undecodable = False
        self._first = True

    def __iter__(self) -> Iterator[str]:
        for chunk in self._stream:
            self.bytes_read += len(chunk)
            if self._first:
                chunk = chunk.removeprefix(b"\xef\xbb\xbf")  # a BOM from spreadsheet exports
                self._first = False
            try:
                line = chunk.decode("utf-8")
            except UnicodeDecodeError:
                line = chunk.decode("utf-8", errors="replace")
                self.undecodable = True
            self._pending.append(line)
            yield line

    def take(self) -> tuple[str, bool]:
        """The text read since the last call and whether any of it was not UTF-8."""
        text, undecodable = "".join(self._pending), self.undecodable
        self._pending.clear()
        self.undecodable = False
        return text.rstrip("\r\n"), undecodable


def _header_key(name: str) -> str:
    return name.strip().lower().replace(" ", "_")


def _csv_rows(lines: _Lines) -> Iterator[_Row]:
    reader = csv.reader(lines)
    try:
        header = [_header_key(name) for name in next(reader)]
    except StopIteration:
        return
    lines.take()
    missing = [
        name
        for name, options in (("isbn", ("isbn", "isbn13")), ("title", ("title",)), ("authors", ("authors", "author")))
        if not set(options) & set(header)
    ]
    if not {"price", "price_cents"} & set(header):
        missing.append("price")
    if missing:
        raise CatalogueError(f"the CSV header has no {', '.join(missing)} column (found: {', '.join(header)})")
    end_line = reader.line_num
    while True:
        start_line = end_line + 1
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raw, _ = lines.take()
            end_line = reader.line_num
            yield _Row(start_line, raw, problem=f"unreadable CSV: {exc}")
            continue
        end_line = reader.line_num
        raw, undecodable = lines.take()
        if not any(value.strip() for value in values):
            continue  # blank line
        if undecodable:
            yield _Row(start_line, raw, problem="the line is not valid UTF-8")
        elif len(values) > len(header):
            yield _Row(start_line, raw, problem=f"{len(values)} fields but the header has {len(header)}")
        else:
            yield _Row(start_line, raw, fields=dict(zip(header, values, strict=False)))


def _jsonl_rows(lines: _Lines) -> Iterator[_Row]:
    for number, _ in enumerate(lines, start=1):
        raw, undecodable = lines.take()
        if not raw.strip():
            continue
        if undecodable:
            yield _Row(number, raw, problem="the line is not valid UTF-8")
            continue
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            yield _Row(number, raw, problem=f"malformed JSON: {exc.msg} at column {exc.colno}")
            continue
        if not isinstance(value, dict):
            yield _Row(number, raw, problem="the line is not a JSON object")
        else:
            yield _Row(number, raw, fields={_header_key(str(k)): v for k, v in value.items()})


def _with_cover_file(data: BookData, fields: dict[str, Any], base_dir: Path) -> BookData:
    """``data`` with the cover stored from the row's ``cover_file`` (a path relative to the file), if any."""
    name = str(fields.get("cover_file") or "").strip()
    if name:
        try:
            stored = store_cover_image(read_cover_file(base_dir / name))
        except CoverError as exc:
            raise CoverError(f"cover_file {name}: {exc}") from exc
        data.cover_key, data.cover_width, data.cover_height = stored.key, stored.width, stored.height
    return data


def _rows_reader(path: Path) -> Callable[[_Lines], Iterator[_Row]]:
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        return _csv_rows
    if suffix in JSONL_SUFFIXES:
        return _jsonl_rows
    raise CatalogueError(f"{path.name}: import reads .csv, .jsonl or .ndjson files")


class _RejectsWriter:
    """Keeps the first rejects for the summary and streams all of them to a CSV file, opened on first use."""

    def __init__(self, summary: ImportSummary, path: Path) -> None:
        self.summary = summary
        self.path = path
        self._file: IO[str] | None = None
        self._writer: SafeCsvWriter | None = None

    def add(self, line: int, reason: str, raw: str) -> None:
        self.summary.rejected += 1
        if len(self.summary.rejects) < MAX_REJECTS_KEPT:
            self.summary.rejects.append(Reject(line, reason, raw))
        if self._writer is None:
            self._file = self.path.open("w", newline="", encoding="utf-8")
            self._writer = SafeCsvWriter(self._file)
            self._writer.writerow(["line", "reason", "raw"])
            self.summary.rejects_path = str(self.path)
        self._writer.writerow([line, reason, raw])

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


def _database_reason(exc: SQLAlchemyError) -> str:
    detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    return f"the database refused the row: {detail}"


def _write_batch(
    batch: list[tuple[_Row, BookData]], summary: ImportSummary, rejects: _RejectsWriter, names: NameCache
) -> None:
    """Upsert a batch; if the database refuses it, retry row by row so only the bad rows are rejected."""
    if not batch:
        return
    try:
        inserted, updated = upsert_books([data for _, data in batch], names)
    except SQLAlchemyError:
        db.session.rollback()
        names.clear()  # what the refused batch added is gone
    else:
        summary.inserted += inserted
        # upsert_books keeps the last of repeated ISBNs; the earlier copies count as updates.
        summary.updated += len(batch) - inserted
        return
    for row, data in batch:
        try:
            inserted, updated = upsert_books([data], names)
        except SQLAlchemyError as exc:
            db.session.rollback()
            names.clear()
            rejects.add(row.line, _database_reason(exc), row.raw)
        else:
            summary.inserted += inserted
            summary.updated += updated


def import_books(
    path: str | Path,
    batch_size: int = DEFAULT_BATCH_SIZE,
    rejects_path: str | Path | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportSummary:
    """Import the books in a CSV or JSON Lines file, upserting by ISBN in batches of ``batch_size``.

    Rows that fail validation or that the database refuses are rejected with their line number
    and reasons and written to ``rejects_path`` (default ``<path>.rejects.csv``) if there are any.
    A later row for the same ISBN wins. ``progress`` is called with the bytes read since its last
    call. The file is streamed: memory stays flat whatever its size.
    """
    if batch_size < 1:
        raise CatalogueError("the batch size must be at least 1")
    path = Path(path)
    read_rows = _rows_reader(path)
    if not path.is_file():
        raise CatalogueError(f"no file {path}")
    summary = ImportSummary(path=str(path))
    rejects = _RejectsWriter(
        summary, Path(rejects_path) if rejects_path else path.with_name(path.name + ".rejects.csv")
    )
    reported_bytes = 0
    batch: list[tuple[_Row, BookData]] = []
    names = NameCache()  # authors, genres and words already written, so later batches skip them
    try:
        with invalidation_deferred(), path.open("rb") as stream:
            lines = _Lines(stream)
            for row in read_rows(lines):
                if row.problem is None:
                    try:
                        data = book_data_from_row(row.fields or {})
                        batch.append((row, _with_cover_file(data, row.fields or {}, path.parent)))
                    except CatalogueError as exc:
                        rejects.add(row.line, str(exc), row.raw)
                else:
                    rejects.add(row.line, row.problem, row.raw)
                if len(batch) >= batch_size:
                    _write_batch(batch, summary, rejects, names)
                    batch = []
                    if progress is not None:
                        progress(lines.bytes_read - reported_bytes)
                        reported_bytes = lines.bytes_read
            _write_batch(batch, summary, rejects, names)
            if progress is not None:
                progress(lines.bytes_read - reported_bytes)
    finally:
        rejects.close()
    return summary
