"""Demo data. Every step checks before it creates, so running it twice changes nothing.

One module per part: ``accounts`` (the three demo logins and the demo password), ``books`` (the
sample catalogue in ``data/books.csv``), ``clubs`` (clubs, their members, donations, shelves) and
``contests`` (reading logs and contests).
"""

from app.seed.accounts import DEMO_PASSWORD, DEMO_USERS, seed_accounts
from app.seed.books import SAMPLE_BOOKS, seed_books

__all__ = ["DEMO_PASSWORD", "DEMO_USERS", "SAMPLE_BOOKS", "seed_books", "seed_demo"]


def seed_demo() -> list[str]:
    """Create what is missing of the demo data; returns lines to print."""
    # Clubs and contests go through the domain services, which import much of the app: load them
    # when seeding, not when the CLI is registered.
    from app.seed.clubs import seed_clubs
    from app.seed.contests import seed_contests

    lines = [seed_accounts(), seed_books(), seed_clubs(DEMO_PASSWORD), seed_contests()]
    lines.append(f"Log in as {', '.join(e for e, _, _ in DEMO_USERS)} with password {DEMO_PASSWORD!r}.")
    return lines
