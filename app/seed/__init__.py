"""Demo data. Every step checks before it creates, so running it twice changes nothing.

One module per part: ``accounts`` (the three demo logins and the demo password), ``books`` (the
sample catalogue in ``data/books.csv``), ``clubs`` (clubs, their members, donations, shelves),
``contests`` (reading logs and contests) and ``pricing`` (shipping zones, tax rates, discount codes).
"""

from sqlalchemy import select

from app.extensions import db
from app.models import User
from app.seed.accounts import DEMO_PASSWORD, DEMO_USERS, seed_accounts
from app.seed.books import SAMPLE_BOOKS, seed_books

__all__ = ["DEMO_PASSWORD", "DEMO_USERS", "SAMPLE_BOOKS", "demo_accounts", "seed_books", "seed_demo"]


def demo_accounts() -> list[tuple[str, str]]:
    """Every account the demo data may create, with its role: (email, role)."""
    from app.models import MemberStatus, Role
    from app.seed.clubs import CLUBS, MEMBERS, READERS

    roles: dict[str, list[str]] = {email: ["admin" if admin else "reader"] for email, _, admin in DEMO_USERS}
    roles.update({email: ["reader"] for email, _ in READERS})
    for club in CLUBS:
        roles[club[8]].append(f"owner of {club[0]}")
    for club_name, members in MEMBERS.items():
        for email, role, status in members:
            if status == MemberStatus.PENDING:
                roles[email].append(f"asked to join {club_name}")
            elif role == Role.MODERATOR:
                roles[email].append(f"moderator of {club_name}")
    return [(email, "; ".join(parts)) for email, parts in roles.items()]


def _existing(emails: list[str]) -> set[str]:
    found = set(db.session.scalars(select(User.email).where(User.email.in_(emails))))
    db.session.rollback()
    return found


def seed_demo() -> list[str]:
    """Create what is missing of the demo data; returns lines to print, naming every demo account."""
    # Clubs and contests go through the domain services, which import much of the app: load them
    # when seeding, not when the CLI is registered.
    from app.seed.addresses import seed_addresses
    from app.seed.clubs import seed_clubs
    from app.seed.contests import seed_contests
    from app.seed.pricing import seed_pricing

    accounts = demo_accounts()
    emails = [email for email, _ in accounts]
    before = _existing(emails)
    seed_accounts()
    lines = [seed_books(), seed_clubs(DEMO_PASSWORD), seed_contests(), seed_pricing(), seed_addresses()]
    after = _existing(emails)
    created = after - before
    lines.insert(0, f"Demo accounts: {len(created)} created, {len(after & before)} already there.")
    lines.append(f"Demo accounts, all with the password {DEMO_PASSWORD!r}:")
    width = max(len(email) for email in emails)
    for email, role in accounts:
        if email in after:
            state = "created" if email in created else "already there"
            lines.append(f"  {email:<{width}}  {state:<13}  {role}")
    return lines
