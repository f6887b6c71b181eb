"""Cart rules: quantities, limits, the visitor's session cart and its merge at log in."""

from __future__ import annotations

from dataclasses import dataclass

from flask import session
from flask_login import current_user, user_logged_in
from sqlalchemy import delete, func, select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import Book, CartItem, User

MAX_PER_LINE = 20
SESSION_KEY = "cart"


class CartError(ValueError):
    """A cart change the rules refuse; the message is for the reader."""


@dataclass
class CartLine:
    book: Book
    quantity: int

    @property
    def total_cents(self) -> int:
        return self.book.price_cents * self.quantity


@dataclass
class Cart:
    lines: list[CartLine]

    @property
    def total_cents(self) -> int:
        return sum(line.total_cents for line in self.lines)

    @property
    def count(self) -> int:
        return sum(line.quantity for line in self.lines)


def _session_cart() -> dict[str, int]:
    return dict(session.get(SESSION_KEY) or {})


def _quantities() -> dict[int, int]:
    if current_user.is_authenticated:
        rows = db.session.execute(
            select(CartItem.book_id, CartItem.quantity).where(CartItem.user_id == current_user.id)
        ).all()
        return {book_id: qty for book_id, qty in rows}
    return {int(k): int(v) for k, v in _session_cart().items()}


def _available_book(book_id: int) -> Book:
    book = db.session.get(Book, book_id)
    if book is None or book.removed_at is not None:
        raise CartError("That book is no longer available.")
    return book


def _check_quantity(book: Book, quantity: int) -> None:
    if quantity < 1:
        raise CartError("The quantity must be at least 1.")
    if quantity > MAX_PER_LINE:
        raise CartError(f"You can buy at most {MAX_PER_LINE} copies of one book.")
    if quantity > book.stock:
        raise CartError(
            f"Only {book.stock} cop{'y' if book.stock == 1 else 'ies'} left." if book.stock else "Out of stock."
        )


def _store(book_id: int, quantity: int | None) -> None:
    if current_user.is_authenticated:
        item = db.session.scalar(
            select(CartItem).where(CartItem.user_id == current_user.id, CartItem.book_id == book_id)
        )
        if quantity is None:
            if item is not None:
                db.session.delete(item)
        elif item is None:
            db.session.add(CartItem(user_id=current_user.id, book_id=book_id, quantity=quantity))
        else:
            item.quantity = quantity
        db.session.commit()
    else:
        cart = _session_cart()
        if quantity is None:
            cart.pop(str(book_id), None)
        else:
            cart[str(book_id)] = quantity
        session[SESSION_KEY] = cart


@dataclass
class Added:
    """What an add really did: ``added`` may be fewer than asked when the stock ran out."""

    asked: int
    added: int
    stock: int

    @property
    def message(self) -> str:
        if self.added == self.asked:
            return "Added to your cart."
        return f"Added {self.added} (only {self.stock} in stock)."


def add_to_cart(book_id: int, quantity: int = 1) -> Added:
    """Add copies of a book, as many as the stock allows; says how many went in."""
    book = _available_book(book_id)
    in_cart = _quantities().get(book_id, 0)
    if 0 < book.stock <= in_cart:
        raise CartError(f"Only {book.stock} in stock; you already have {in_cart} in your cart.")
    added = quantity
    if in_cart + quantity > book.stock > 0 and quantity >= 1:
        added = book.stock - in_cart
    _check_quantity(book, in_cart + added)
    _store(book_id, in_cart + added)
    return Added(asked=quantity, added=added, stock=book.stock)


def set_quantity(book_id: int, quantity: int) -> None:
    """Change a line's quantity; zero removes it."""
    if quantity == 0:
        _store(book_id, None)
        return
    _check_quantity(_available_book(book_id), quantity)
    _store(book_id, quantity)


def remove_from_cart(book_id: int) -> None:
    _store(book_id, None)


def current_cart() -> Cart:
    """The cart with its books, in two queries; removed books drop out."""
    quantities = _quantities()
    if not quantities:
        return Cart(lines=[])
    books = db.session.scalars(
        select(Book)
        .where(Book.id.in_(quantities), Book.removed_at.is_(None))
        .options(selectinload(Book.authors))
        .order_by(Book.title)
    ).all()
    return Cart(lines=[CartLine(book=b, quantity=quantities[b.id]) for b in books])


def cart_count() -> int:
    if current_user.is_authenticated:
        return db.session.scalar(
            select(func.coalesce(func.sum(CartItem.quantity), 0)).where(CartItem.user_id == current_user.id)
        )
    return sum(int(v) for v in _session_cart().values())


def merge_into_account(user: User, visitor_cart: dict[str, int]) -> None:
    """At log in, add the visitor's session cart to the reader's saved cart (capped per line)."""
    if not visitor_cart:
        return
    saved = {item.book_id: item for item in db.session.scalars(select(CartItem).where(CartItem.user_id == user.id))}
    known_books = set(db.session.scalars(select(Book.id).where(Book.id.in_([int(k) for k in visitor_cart]))))
    for key, quantity in visitor_cart.items():
        book_id = int(key)
        if book_id not in known_books:
            continue
        if book_id in saved:
            saved[book_id].quantity = min(MAX_PER_LINE, saved[book_id].quantity + int(quantity))
        else:
            db.session.add(CartItem(user_id=user.id, book_id=book_id, quantity=min(MAX_PER_LINE, int(quantity))))
    db.session.commit()


def clear_books_from_cart(user_id: int, book_ids: list[int]) -> None:
    """Take bought books out of a reader's cart (part of the paying transaction; no commit)."""
    db.session.execute(delete(CartItem).where(CartItem.user_id == user_id, CartItem.book_id.in_(book_ids)))


@user_logged_in.connect
def _merge_on_login(sender, user, **extra) -> None:
    visitor_cart = session.pop(SESSION_KEY, None)
    if visitor_cart:
        merge_into_account(user, visitor_cart)
