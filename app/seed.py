"""Demo data. Every step checks before it creates, so running it twice changes nothing."""

from pathlib import Path

from sqlalchemy import func, select

from app.accounts.passwords import hash_password
from app.accounts.services import find_user_by_email
from app.extensions import db
from app.models import Book, User
from app.models.base import utcnow

DEMO_PASSWORD = "demo-password-1"  # printed by the command; demo accounts only
DEMO_USERS = [
    ("reader@example.com", "Rosa Reader", False),
    ("owner@example.com", "Omar Owner", False),
    ("admin@example.com", "Ada Admin", True),
]


def seed_demo() -> list[str]:
    """Create the demo accounts that do not exist yet; returns lines to print."""
    created = []
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
            created.append(email)
    db.session.commit()
    lines = [f"Demo users: {len(created)} created, {len(DEMO_USERS) - len(created)} already there."]
    lines.append(seed_books())
    from app.seed_clubs import seed_clubs

    lines.append(seed_clubs(DEMO_PASSWORD))
    from app.seed_contests import seed_contests

    lines.append(seed_contests())
    lines.append(f"Log in as {', '.join(e for e, _, _ in DEMO_USERS)} with password {DEMO_PASSWORD!r}.")
    return lines


SAMPLE_BOOKS = Path(__file__).resolve().parent / "seed_data" / "books.csv"


def seed_books() -> str:
    """Import the sample catalogue into an empty catalogue (never over a real one)."""
    from app.catalogue.importer import import_books

    existing = db.session.scalar(select(func.count(Book.id)))
    if existing:
        return f"Demo books: {existing} already in the catalogue, none imported."
    summary = import_books(SAMPLE_BOOKS)
    return f"Demo books: {summary.inserted} imported from {SAMPLE_BOOKS.name}."
