"""Many rows into one table, in the session's transaction, without an ORM object per row.

For jobs that write thousands of rows at once (a contest's results emails and notifications). On
PostgreSQL the rows go in with one COPY; elsewhere with one executemany INSERT. Session hooks see
no ORM object here: the caller tells them what it wrote (``note_emails``, ``note_readers``).
"""

from __future__ import annotations

from operator import itemgetter

from sqlalchemy import Table, insert, text

from app.extensions import db


def insert_rows(table: Table, rows: list[dict], *, return_ids: bool = False) -> list[int]:
    """Insert ``rows`` (dicts with the same keys, every column but the id) into ``table``.

    Returns the new ids in the order of ``rows`` when ``return_ids``, else an empty list.
    """
    if not rows:
        return []
    connection = db.session.connection()
    if connection.dialect.name != "postgresql":
        if not return_ids:
            connection.execute(insert(table), rows)
            return []
        returning = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        return list(connection.execute(returning, rows).scalars())
    keys = list(rows[0])
    values = itemgetter(*keys) if len(keys) > 1 else (lambda row: (row[keys[0]],))
    columns = keys
    ids: list[int] = []
    if return_ids:
        # The ids are taken from the table's sequence first, so COPY (which returns nothing) writes them.
        ids = list(
            connection.execute(
                text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :count)"),
                {"table": table.name, "count": len(rows)},
            ).scalars()
        )
        columns = ["id", *columns]
    names = ", ".join(f'"{name}"' for name in columns)
    cursor = connection.connection.driver_connection.cursor()
    try:
        with cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
            if return_ids:
                for row_id, row in zip(ids, rows, strict=True):
                    copy.write_row((row_id, *values(row)))
            else:
                for row in rows:
                    copy.write_row(values(row))
    finally:
        cursor.close()
    return ids
