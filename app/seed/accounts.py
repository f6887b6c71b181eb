"""Demo accounts: a reader, a club owner and an admin, all with the published demo password."""

from app.accounts.passwords import hash_password
from app.accounts.services import find_user_by_email
from app.extensions import db
from app.models import User
from app.models.base import utcnow

DEMO_PASSWORD = "demo-password-1"  # printed by the command; demo accounts only
DEMO_USERS = [
    ("reader@example.com", "Rosa Reader", False),
    ("owner@example.com", "Omar Owner", False),
    ("admin@example.com", "Ada Admin", True),
]


def seed_accounts() -> None:
    """Create the demo accounts that do not exist yet."""
    for email, name, is_admin in DEMO_USERS:
        if find_user_by_email(email) is None:
            db.session.add(
                User(
                    email=email,
                    name=name,
                    password_hash=hash_password(DEMO_PASSWORD),
                    email_verified_at=utcnow(),
                    is_admin=is_admin,
                )
            )
    db.session.commit()
