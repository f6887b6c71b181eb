"""clubs.name_key: a club's name is unique in its city, whatever the case

Revision ID: c3e8f1a2b9d4
Revises: c4e8a1f09d2b
Create Date: 2026-11-26 04:50:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c3e8f1a2b9d4"
down_revision = "c4e8a1f09d2b"
branch_labels = None
depends_on = None


def _key(name, city):
    # The same rule as app.models.clubs.club_name_key, frozen here as it was when this ran.
    return f"{(name or '').strip().casefold()}|{(city or '').strip().casefold()}"


def upgrade():
    with op.batch_alter_table("clubs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name_key", sa.String(length=250), nullable=True))

    # Fill the key for the clubs already there. Clubs that clash already keep their names; the
    # later ones get their id in the key so the rule can hold from now on.
    bind = op.get_bind()
    clubs = sa.table("clubs", sa.column("id", sa.Integer), sa.column("name"), sa.column("city"), sa.column("name_key"))
    seen = set()
    for club_id, name, city in bind.execute(sa.select(clubs.c.id, clubs.c.name, clubs.c.city).order_by(clubs.c.id)):
        key = _key(name, city)
        if key in seen:
            key = f"{key}#{club_id}"
        seen.add(key)
        bind.execute(clubs.update().where(clubs.c.id == club_id).values(name_key=key))

    with op.batch_alter_table("clubs", schema=None) as batch_op:
        batch_op.alter_column("name_key", existing_type=sa.String(length=250), nullable=False)
        batch_op.create_unique_constraint("uq_clubs_name_key", ["name_key"])


def downgrade():
    with op.batch_alter_table("clubs", schema=None) as batch_op:
        batch_op.drop_constraint("uq_clubs_name_key", type_="unique")
        batch_op.drop_column("name_key")
