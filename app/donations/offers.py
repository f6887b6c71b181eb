"""Books members offer to their club; the owner or a moderator accepts or declines them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.catalogue.isbn import InvalidISBN, normalise_isbn
from app.extensions import db
from app.models import Book, BookOffer, Club, ShelfBook, User
from app.models.base import utcnow
from app.notifications.email import record_email
from app.notifications.inbox import mark_done


class OfferError(ValueError):
    """An offer the rules refuse; the message says why."""


def offer_book(
    club: Club,
    member: User,
    *,
    condition: str,
    book_id: int | None = None,
    title: str = "",
    author: str = "",
    isbn: str = "",
    note: str = "",
) -> BookOffer:
    """Offer a catalogue book (``book_id``) or any book (title, author, optional ISBN)."""
    if condition not in BookOffer.CONDITIONS:
        raise OfferError(f"Choose a condition: {', '.join(BookOffer.CONDITIONS)}.")
    isbn13 = None
    if book_id:
        book = db.session.scalar(select(Book).where(Book.id == book_id).options(selectinload(Book.authors)))
        if book is None:
            raise OfferError("That book is not in the catalogue.")
        title, author, isbn13 = book.title, book.author_names, book.isbn13
    else:
        title, author = title.strip(), author.strip()
        if not title or not author:
            raise OfferError("Give the book's title and author (or pick it from the catalogue).")
        if isbn.strip():
            try:
                isbn13 = normalise_isbn(isbn)
            except InvalidISBN as exc:
                raise OfferError(str(exc)) from None
    offer = BookOffer(
        club_id=club.id,
        user_id=member.id,
        book_id=book_id or None,
        title=title[:300],
        author=author[:200],
        isbn13=isbn13,
        condition=condition,
        note=note.strip()[:500],
    )
    db.session.add(offer)
    db.session.flush()
    from app.clubs.services import owner_of

    owner = owner_of(club)
    if owner is not None and owner.id != member.id:
        record_email(
            key=offer_key(offer.id),
            template="book_offer_received",
            to=owner.email,
            subject=f"{member.name} offers “{offer.title}” to {club.name}",
            user=owner,
            club=club,
            offer=offer,
            member=member,
        )
    db.session.commit()
    return offer


PICKS = 8  # books the offer form's catalogue picker lists


def catalogue_picks(query: str) -> list[Book]:
    """Catalogue books matching a search, for the offer form's picker (none for an empty search)."""
    from app.catalogue.queries import CatalogueParams, list_books

    if not query.strip():
        return []
    return list_books(CatalogueParams(q=query, per_page=PICKS)).books


def picked_book(book_id: int | None) -> Book | None:
    """The catalogue book a member picked to offer (None if unknown or removed)."""
    book = db.session.get(Book, book_id) if book_id else None
    return book if book is not None and book.removed_at is None else None


def offer_key(offer_id: int) -> str:
    """The offer's email (and notification) key: deciding the offer settles it."""
    return f"book-offer:{offer_id}"


def decide_offer(club: Club, offer_id: int, accept: bool, decider: User) -> BookOffer:
    """Accept (onto the shelf) or decline an offer, once; the member is told either way."""
    offer = db.session.scalar(select(BookOffer).where(BookOffer.id == offer_id).with_for_update())
    if offer is None or offer.club_id != club.id:
        raise OfferError("That offer is not for this club.")
    if offer.status != BookOffer.PENDING:
        raise OfferError(f"That offer was already {offer.status}.")
    offer.status = BookOffer.ACCEPTED if accept else BookOffer.DECLINED
    offer.decided_by_id = decider.id
    offer.decided_at = utcnow()
    if accept:
        db.session.add(
            ShelfBook(
                club_id=club.id,
                book_id=offer.book_id,
                title=offer.title,
                author=offer.author,
                isbn13=offer.isbn13,
                condition=offer.condition,
                source="offer",
                given_by_id=offer.user_id,
                offer_id=offer.id,
            )
        )
    mark_done(offer_key(offer.id))
    member = db.session.get(User, offer.user_id)
    record_email(
        key=f"book-offer-decision:{offer.id}",
        template="book_offer_decision",
        to=member.email,
        subject=f"{club.name} {'accepted' if accept else 'declined'} your book “{offer.title}”",
        user=member,
        club=club,
        offer=offer,
        accepted=accept,
    )
    db.session.commit()
    return offer


def pending_offers(club: Club) -> list[tuple[BookOffer, str]]:
    """Offers waiting for a decision, with the member's name (one query)."""
    return list(
        db.session.execute(
            select(BookOffer, User.name)
            .join(User, User.id == BookOffer.user_id)
            .where(BookOffer.club_id == club.id, BookOffer.status == BookOffer.PENDING)
            .order_by(BookOffer.id)
        ).tuples()
    )


def offers_by(member: User, club: Club) -> list[BookOffer]:
    return list(
        db.session.scalars(
            select(BookOffer)
            .where(BookOffer.club_id == club.id, BookOffer.user_id == member.id)
            .order_by(BookOffer.id.desc())
        )
    )
