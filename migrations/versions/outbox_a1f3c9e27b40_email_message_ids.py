"""email message ids: a stored, globally unique Message-ID per email

Revision ID: a1f3c9e27b40
Revises: a1b2c3d4e5f6
Create Date: 2026-11-27 10:00:00.000000

"""
import uuid

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a1f3c9e27b40'
down_revision = 'a1b2c3d4e5f6'
branch_labels = None
depends_on = None


def _mail_domain() -> str:
    # Rows recorded before this migration get a Message-ID in the configured domain when the
    # migration runs inside the app (flask db upgrade), else a placeholder domain.
    try:
        from app.notifications.email import mail_domain

        return mail_domain()
    except Exception:
        return "bookcommerce.invalid"


def upgrade():
    with op.batch_alter_table('email_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('message_id', sa.String(length=255), nullable=True))

    emails = sa.table('email_messages', sa.column('id', sa.Integer), sa.column('message_id', sa.String))
    connection = op.get_bind()
    domain = _mail_domain()
    for (email_id,) in connection.execute(sa.select(emails.c.id)).all():
        connection.execute(
            emails.update().where(emails.c.id == email_id).values(message_id=f"<{uuid.uuid4().hex}@{domain}>")
        )

    with op.batch_alter_table('email_messages', schema=None) as batch_op:
        batch_op.alter_column('message_id', existing_type=sa.String(length=255), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_email_messages_message_id'), ['message_id'])


def downgrade():
    with op.batch_alter_table('email_messages', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_email_messages_message_id'), type_='unique')
        batch_op.drop_column('message_id')
