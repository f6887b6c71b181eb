"""random_page_cost 1.1 for the whole database (PostgreSQL; SQLite: nothing).

The catalogue's working set lives in memory (shared buffers and the OS cache), where a page read
out of order costs about what a page read in order does. With PostgreSQL's default
random_page_cost of 4.0 the planner reads books in order to count 1,001 matches of a word held by
2 % of them (60,000 rows, 40-50 ms) rather than through the GIN index (1,900 entries, then 1,001
rows: 3-4 ms); at 1.1, the usual value for SSDs and cached data, it picks the index there and
still reads in order for words in most books (bench/search_scale.py).

This was a ``SET`` on each new connection of the app's engine. Behind PgBouncer in transaction
mode a session setting stays on whichever server connection ran it and reaches other clients'
transactions there, or none of ours: as a database setting every new session starts with it
(through PgBouncer, psql and the workers alike). Existing sessions keep their value until they
reconnect. ALTER DATABASE needs the database's owner; without that right this step only warns, and
docs/deploy.md gives the statement for a superuser to run.

Revision ID: b8d4f2a6c1e9
Revises: b2d6e8f4a1c3
Create Date: 2026-11-26 10:50:00.000000

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "b8d4f2a6c1e9"
down_revision = "b2d6e8f4a1c3"
branch_labels = None
depends_on = None

RANDOM_PAGE_COST = "1.1"


def _alter_database(action: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        f"""
        DO $$
        BEGIN
            EXECUTE format('ALTER DATABASE %I {action}', current_database());
        EXCEPTION WHEN insufficient_privilege THEN
            RAISE WARNING 'not the owner of %: run "ALTER DATABASE % {action}" as a superuser',
                current_database(), current_database();
        END
        $$
        """
    )


def upgrade():
    _alter_database(f"SET random_page_cost = {RANDOM_PAGE_COST}")


def downgrade():
    _alter_database("RESET random_page_cost")
