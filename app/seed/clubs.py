"""Demo clubs: public and private, in several cities, with members of every role, donations
(some anonymous), wishlists, shelves and fund activity. Safe to run again: it adds nothing twice."""

from __future__ import annotations

from sqlalchemy import func, select

from app.accounts.passwords import hash_password
from app.accounts.services import find_user_by_email
from app.donations.fund import add_entry, lock_fund
from app.extensions import db
from app.models import (
    Book,
    BookOffer,
    Club,
    Donation,
    DonationStatus,
    FundEntry,
    Membership,
    MemberStatus,
    Role,
    ShelfBook,
    User,
    WishlistItem,
)
from app.models.base import utcnow

READERS = [
    ("mina@example.com", "Mina Moderator"),
    ("lou@example.com", "Lou Lector"),
    ("sam@example.com", "Sam Saga"),
    ("ines@example.com", "Inès Iliad"),
    ("kofi@example.com", "Kofi Kafka"),
    ("pending@example.com", "Pat Pending"),
]

CLUBS = [
    # name, city, region, country, lat, lon, visibility, goal, owner, description, questions
    (
        "Paris Page Turners",
        "Paris",
        "Île-de-France",
        "France",
        48.8566,
        2.3522,
        "public",
        50000,
        "owner@example.com",
        "We read one classic a month and argue about it in a café near the Seine.",
        [],
    ),
    (
        "Lyon Mystery Circle",
        "Lyon",
        "Auvergne-Rhône-Alpes",
        "France",
        45.764,
        4.8357,
        "public",
        20000,
        "lou@example.com",
        "Whodunits, noir and the occasional locked room. Bring your theories.",
        [],
    ),
    (
        "Berlin Night Readers",
        "Berlin",
        "Berlin",
        "Germany",
        52.52,
        13.405,
        "private",
        30000,
        "owner@example.com",
        "Late-night readings of European fiction, in English and German.",
        ["Which book would you bring to our first evening?", "How did you hear about us?"],
    ),
    (
        "Brooklyn Sci-Fi Society",
        "New York",
        "New York",
        "United States",
        40.6782,
        -73.9442,
        "public",
        100000,
        "sam@example.com",
        "Space opera, cyberpunk and everything between. Monthly, in a bookshop basement.",
        [],
    ),
    (
        "Lisbon Poetry Table",
        "Lisbon",
        "Lisboa",
        "Portugal",
        38.7223,
        -9.1393,
        "private",
        10000,
        "ines@example.com",
        "Poems read aloud, slowly, with coffee.",
        ["Who is your favourite poet?"],
    ),
]

MEMBERS = {
    "Paris Page Turners": [
        ("mina@example.com", Role.MODERATOR, MemberStatus.ACTIVE),
        ("reader@example.com", Role.MEMBER, MemberStatus.ACTIVE),
        ("lou@example.com", Role.MEMBER, MemberStatus.ACTIVE),
        ("pending@example.com", Role.MEMBER, MemberStatus.PENDING),
    ],
    "Lyon Mystery Circle": [
        ("reader@example.com", Role.MEMBER, MemberStatus.ACTIVE),
        ("kofi@example.com", Role.MODERATOR, MemberStatus.ACTIVE),
    ],
    "Berlin Night Readers": [
        ("kofi@example.com", Role.MODERATOR, MemberStatus.ACTIVE),
        ("reader@example.com", Role.MEMBER, MemberStatus.ACTIVE),
        ("pending@example.com", Role.MEMBER, MemberStatus.PENDING),
    ],
    "Brooklyn Sci-Fi Society": [
        ("reader@example.com", Role.MEMBER, MemberStatus.ACTIVE),
        ("mina@example.com", Role.MEMBER, MemberStatus.ACTIVE),
    ],
    "Lisbon Poetry Table": [("lou@example.com", Role.MEMBER, MemberStatus.ACTIVE)],
}

DONATIONS = [
    # club, donor, cents, message, anonymous
    ("Paris Page Turners", "reader@example.com", 2500, "For next month's Zola!", False),
    ("Paris Page Turners", "lou@example.com", 10000, "", True),
    ("Paris Page Turners", "mina@example.com", 1500, "Merci à tous", False),
    ("Lyon Mystery Circle", "reader@example.com", 5000, "More Simenon please", False),
    ("Berlin Night Readers", "kofi@example.com", 4000, "", True),
    ("Brooklyn Sci-Fi Society", "mina@example.com", 7500, "Dune, again", False),
]


def _user(email: str, name: str, password: str) -> User:
    user = find_user_by_email(email)
    if user is None:
        user = User(email=email, name=name, password_hash=hash_password(password), email_verified_at=utcnow())
        db.session.add(user)
        db.session.flush()
    return user


def seed_clubs(password: str) -> str:
    """Add the demo clubs if none exist; returns a line to print."""
    existing = db.session.scalar(select(func.count(Club.id)))
    if existing:
        return f"Demo clubs: {existing} already there, none added."
    users = {email: _user(email, name, password) for email, name in READERS}
    for email in ("reader@example.com", "owner@example.com"):
        users[email] = find_user_by_email(email)
    books = list(db.session.scalars(select(Book).where(Book.removed_at.is_(None)).order_by(Book.id).limit(40)))
    clubs: dict[str, Club] = {}
    for i, (name, city, region, country, lat, lon, visibility, goal, owner, about, questions) in enumerate(CLUBS):
        club = Club(
            name=name,
            slug=name.lower().replace(" ", "-"),
            description=about,
            city=city,
            region=region,
            country=country,
            latitude=lat,
            longitude=lon,
            visibility=visibility,
            donation_goal_cents=goal,
            settings={"join_questions": questions},
        )
        db.session.add(club)
        db.session.flush()
        clubs[name] = club
        db.session.add(Membership(club_id=club.id, user_id=users[owner].id, role=Role.OWNER))
        for email, role, status in MEMBERS[name]:
            details = {"favourite_genres": ["Classics"]}
            if status == MemberStatus.PENDING and questions:
                details["answers"] = {q: "Happy to tell you at the first meeting!" for q in questions}
            db.session.add(
                Membership(club_id=club.id, user_id=users[email].id, role=role, status=status, details=details)
            )
        for book in books[i * 6 : i * 6 + 3]:
            db.session.add(
                ShelfBook(
                    club_id=club.id,
                    book_id=book.id,
                    title=book.title,
                    author=book.authors_text,
                    isbn13=book.isbn13,
                    condition="good",
                    source="offer",
                    given_by_id=users[owner].id,
                )
            )
        for book in books[i * 6 + 3 : i * 6 + 6]:
            db.session.add(WishlistItem(club_id=club.id, book_id=book.id, note="For a future month"))
    db.session.flush()
    for club_name, email, cents, message, anonymous in DONATIONS:
        club = clubs[club_name]
        donation = Donation(
            club_id=club.id,
            user_id=users[email].id,
            amount_cents=cents,
            message=message,
            anonymous=anonymous,
            status=DonationStatus.PAID,
            gateway="simulated",
            paid_at=utcnow(),
        )
        db.session.add(donation)
        db.session.flush()
        lock_fund(club.id)
        add_entry(club.id, FundEntry.DONATION, cents, f"Donation #{donation.id}", donation_id=donation.id)
    if len(books) > 30:
        paris = clubs["Paris Page Turners"]
        db.session.add(
            BookOffer(
                club_id=paris.id,
                user_id=users["reader@example.com"].id,
                book_id=books[30].id,
                title=books[30].title,
                author=books[30].authors_text,
                isbn13=books[30].isbn13,
                condition="like new",
                note="Read it once, loved it.",
            )
        )
    db.session.commit()
    return f"Demo clubs: {len(clubs)} created with members, donations, shelves and wishlists."
