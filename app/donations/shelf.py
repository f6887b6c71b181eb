"""The club shelf, the wishlist, and buying books for a club (by card or from the fund)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app.catalogue.caching import invalidate_books
from app.donations.fund import FundError, add_entry, lock_fund
from app.extensions import db
from app.models import Book, Club, FundEntry, Order, OrderLine, OrderStatus, ShelfBook, User, WishlistItem
from app.models.base import utcnow
from app.notifications.email import record_email
from app.orders.checkout import charges_of, club_delivery
from app.orders.services import OrderError, pending_order


class ShelfError(ValueError):
    """A wishlist or purchase change the rules refuse; the message says why."""


def shelf_of(club: Club) -> list[ShelfBook]:
    return list(db.session.scalars(select(ShelfBook).where(ShelfBook.club_id == club.id).order_by(ShelfBook.title)))


def wishlist_of(club: Club) -> list[tuple[WishlistItem, Book]]:
    """The wishlist with its books (one query, authors loaded in one more): wanted first, then given."""
    return list(
        db.session.execute(
            select(WishlistItem, Book)
            .join(Book, Book.id == WishlistItem.book_id)
            .where(WishlistItem.club_id == club.id)
            .options(selectinload(Book.authors))
            .order_by(WishlistItem.given_at.is_not(None), Book.title)
        ).tuples()
    )


def add_to_wishlist(club: Club, book_id: int, note: str = "") -> WishlistItem:
    book = db.session.get(Book, book_id)
    if book is None or book.removed_at is not None:
        raise ShelfError("That book is not in the catalogue.")
    item = WishlistItem(club_id=club.id, book_id=book.id, note=note.strip()[:300])
    db.session.add(item)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise ShelfError(f"“{book.title}” is already on the wishlist.") from None
    return item


def remove_from_wishlist(club: Club, item_id: int) -> None:
    item = _wish(club, item_id)
    if item.given_at is not None:
        raise ShelfError("That book was already given; it stays on the list as a thank-you.")
    db.session.delete(item)
    db.session.commit()


def _wish(club: Club, item_id: int) -> WishlistItem:
    item = db.session.get(WishlistItem, item_id)
    if item is None or item.club_id != club.id:
        raise ShelfError("That book is not on this club's wishlist.")
    return item


def club_delivery_for(club: Club, books: list[Book], method_id: int | None = None):
    """Shipping and tax to the club's delivery address (the cheapest method unless another is
    chosen), or ShelfError: the club has no address yet, or nobody ships to its country."""
    try:
        return club_delivery(club, books, method_id)
    except OrderError as exc:
        raise ShelfError(str(exc)) from None


def _club_order(club: Club, buyer: User, books: list[Book], gateway: str, method_id: int | None = None) -> Order:
    """A pending order of one copy of each book for the club, shipped to its delivery address with
    the shipping and tax of that address snapshotted (the total is the quote's)."""
    delivery = club_delivery_for(club, books, method_id)
    charges = charges_of(delivery.quote, delivery.address)
    order = pending_order(buyer.id, [(book, 1) for book in books], gateway=gateway, club_id=club.id, **charges)
    db.session.add(order)
    return order


def wishlist_gift(club: Club, buyer: User, item_id: int) -> Book:
    """The book a reader may buy for the club from its wishlist, or ShelfError saying why not."""
    if not buyer.is_verified:
        raise ShelfError("Please confirm your email address first: we send your receipt there.")
    item = _wish(club, item_id)
    if item.given_at is not None:
        raise ShelfError("Someone already gave this book. Thank you all the same!")
    book = db.session.get(Book, item.book_id)
    if book.stock < 1:
        raise ShelfError(f"“{book.title}” is out of stock right now.")
    return book


def order_wishlist_book(club: Club, buyer: User, item_id: int, method_id: int | None = None) -> Order:
    """A pending order for one wishlist book, bought *for* the club (paid by card at checkout),
    shipped to the club's delivery address by ``method_id`` (the cheapest when None)."""
    from app.payments.gateway import get_gateway

    book = wishlist_gift(club, buyer, item_id)
    order = _club_order(club, buyer, [book], get_gateway().name, method_id)
    db.session.commit()
    return order


def buy_from_fund(club: Club, owner: User, item_ids: list[int]) -> Order:
    """The owner buys wishlist books with the club fund: debit, stock and shelf in one transaction.
    The books ship to the club's delivery address by the cheapest method; the fund pays the books,
    shipping and tax (the order's total).

    Refused whole, with the reason, when the club has no delivery address, or the fund or the stock
    cannot cover it.
    """
    lock_fund(club.id)  # before reading the wishlist: a concurrent gift of the same book waits or wins
    items = [_wish(club, i) for i in item_ids]
    for item in items:
        db.session.refresh(item)
    if not items or any(i.given_at is not None for i in items):
        db.session.rollback()
        raise ShelfError("Choose books that are still wanted.")
    books = list(db.session.scalars(select(Book).where(Book.id.in_([i.book_id for i in items]))))
    try:
        order = _club_order(club, owner, books, "fund")
    except ShelfError:
        db.session.rollback()
        raise
    db.session.flush()
    try:
        add_entry(
            club.id,
            FundEntry.PURCHASE,
            -order.total_cents,
            f"Books for the shelf (order #{order.id})",
            order_id=order.id,
        )
    except FundError:
        db.session.rollback()
        raise
    from app.orders.fulfilment import take_stock

    if not take_stock(order):
        db.session.rollback()
        raise ShelfError("Not enough copies in stock for all of these books; nothing was charged.")
    order.status = OrderStatus.PAID
    order.paid_at = order.closed_at = utcnow()
    order.stock_taken = True
    place_on_shelf(order)
    db.session.commit()
    invalidate_books([b.id for b in books])
    return order


def place_on_shelf(order: Order) -> None:
    """A paid club order: its books go on the shelf, wishlist entries are given, the owner is told.

    Part of the paying transaction (no commit); unique keys make a second call a no-op.
    """
    club = db.session.get(Club, order.club_id)
    if order.gateway != "fund":
        lock_fund(club.id)  # serialise with fund purchases reading the same wishlist
    buyer = db.session.get(User, order.user_id)
    lines = db.session.scalars(select(OrderLine).where(OrderLine.order_id == order.id)).all()
    _shelve_lines(club, order, buyer, lines)
    _mark_wishes_given(club, order, lines)
    _tell_owner_of_gift(club, order, buyer, lines)


def _shelve_lines(club: Club, order: Order, buyer: User | None, lines: Sequence[OrderLine]) -> None:
    """One shelf book per order line not shelved yet."""
    already = set(
        db.session.scalars(
            select(ShelfBook.order_line_id).where(
                ShelfBook.club_id == club.id, ShelfBook.order_line_id.in_([ln.id for ln in lines])
            )
        )
    )
    books = {
        b.id: b
        for b in db.session.scalars(
            select(Book).where(Book.id.in_([ln.book_id for ln in lines])).options(selectinload(Book.authors))
        )
    }
    for line in lines:
        if line.id in already:
            continue
        book = books.get(line.book_id)
        db.session.add(
            ShelfBook(
                club_id=club.id,
                book_id=line.book_id,
                title=line.title,
                isbn13=line.isbn13,
                author=book.author_names if book else "",
                condition="new",
                source="purchase" if order.gateway == "fund" else "gift",
                given_by_id=buyer.id if buyer else None,
                order_line_id=line.id,
            )
        )


def _mark_wishes_given(club: Club, order: Order, lines: Sequence[OrderLine]) -> None:
    """The club's open wishlist entries for these books are given by this order."""
    wishes = db.session.scalars(
        select(WishlistItem).where(
            WishlistItem.club_id == club.id,
            WishlistItem.book_id.in_([ln.book_id for ln in lines]),
            WishlistItem.given_at.is_(None),
        )
    ).all()
    for wish in wishes:
        wish.given_at = utcnow()
        wish.given_by_id = order.user_id
        wish.order_id = order.id


def _tell_owner_of_gift(club: Club, order: Order, buyer: User | None, lines: Sequence[OrderLine]) -> None:
    """Email the club's owner about books someone else bought for the club."""
    from app.clubs.services import owner_of

    owner = owner_of(club)
    if owner is not None and buyer is not None and owner.id != buyer.id:
        record_email(
            key=f"club-gift:{order.id}",
            template="club_gift_notice",
            to=owner.email,
            subject=f"{buyer.name} bought books for {club.name}",
            user=owner,
            club=club,
            order=order,
            lines=lines,
            buyer=buyer,
        )
