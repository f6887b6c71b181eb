"""PostgreSQL planner settings, set on each new connection of the app's engine.

The catalogue's working set lives in memory (shared buffers and the OS cache), where a page read
out of order costs about what a page read in order does. With PostgreSQL's default
random_page_cost of 4.0 the planner reads books in order to count 1,001 matches of a word held by
2 % of them (60,000 rows, 40-50 ms) rather than through the GIN index (1,900 entries, then 1,001
rows: 3-4 ms); at 1.1, the usual value for SSDs and cached data, it picks the index there and
still reads in order for words in most books (bench/search_scale.py).
"""

from __future__ import annotations

from flask import Flask
from sqlalchemy import event

RANDOM_PAGE_COST = 1.1


def _set_planner_costs(dbapi_connection, connection_record) -> None:
    with dbapi_connection.cursor() as cursor:
        cursor.execute(f"SET random_page_cost = {RANDOM_PAGE_COST}")
    dbapi_connection.commit()  # psycopg opens a transaction for the SET: end it, keep the setting


def configure_planner(app: Flask) -> None:
    """Set the planner's costs on every connection the app opens to PostgreSQL."""
    from app.extensions import db

    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "postgresql" and not event.contains(engine, "connect", _set_planner_costs):
        event.listen(engine, "connect", _set_planner_costs)
