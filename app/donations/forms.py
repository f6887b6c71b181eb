"""Donation, offer and wishlist forms (Flask-WTF, CSRF-protected).

Forms parse input only: amounts become integer cents, ISBNs become catalogue books. The rules
(bounds, who may do what, whether the fund covers a purchase) stay in the services.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, DecimalField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from app.catalogue.isbn import InvalidISBN, normalise_isbn
from app.extensions import db
from app.models import Book, BookOffer
from app.payments.idempotency import IdempotencyKeyField


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def catalogue_book(isbn: str) -> Book | None:
    """The catalogue book with this ISBN (not removed), or None. Raises InvalidISBN."""
    return db.session.scalar(select(Book).where(Book.isbn13 == normalise_isbn(isbn), Book.removed_at.is_(None)))


class DonationForm(FlaskForm):
    amount = DecimalField(
        "Amount (USD)",
        places=2,
        render_kw={"inputmode": "decimal"},
        validators=[InputRequired(message="Enter an amount in dollars, like 25 or 12.50.")],
    )
    message = TextAreaField(
        "Message to the club (optional)",
        filters=[_strip],
        validators=[Length(max=500)],
        description="Up to 500 characters.",
    )
    anonymous = BooleanField("Give anonymously (the club will not see your name)")
    idempotency_key = IdempotencyKeyField()

    def __init__(self, *args, bounds: tuple[int, int], **kwargs):
        super().__init__(*args, **kwargs)
        low, high = bounds
        self.amount.description = f"Between ${low / 100:,.2f} and ${high / 100:,.2f}."

    def validate_amount(self, field):
        # The bounds are the donation service's rule; here only the shape of the number.
        if field.data is None:
            return
        if not field.data.is_finite():
            raise ValidationError("Enter an amount in dollars, like 25 or 12.50.")
        try:
            whole_cents = field.data == field.data.quantize(Decimal("0.01"))
        except InvalidOperation:  # more digits than a Decimal context holds
            raise ValidationError("That amount is far too large.") from None
        if not whole_cents:
            raise ValidationError("Use at most two decimal places (whole cents).")

    @property
    def amount_cents(self) -> int:
        return int((self.amount.data * 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP))


class OfferForm(FlaskForm):
    """A catalogue book (its ISBN is enough) or any book by title and author."""

    isbn = StringField(
        "ISBN",
        filters=[_strip],
        validators=[Optional(), Length(max=20)],
        description="If the book is in our catalogue, its ISBN is enough.",
    )
    title = StringField("Title", filters=[_strip], validators=[Length(max=300)])
    author = StringField("Author", filters=[_strip], validators=[Length(max=200)])
    condition = SelectField(
        "Condition",
        choices=[SelectChoice(c, c.capitalize()) for c in BookOffer.CONDITIONS],
        validators=[InputRequired()],
    )
    note = TextAreaField("Note (optional)", filters=[_strip], validators=[Length(max=500)])

    book: Book | None = None

    def validate_isbn(self, field):
        self.book = None
        if not field.data:
            return
        try:
            self.book = catalogue_book(field.data)
        except InvalidISBN:
            return  # the offer service explains a bad ISBN given with a title and author

    @property
    def offer_fields(self) -> dict:
        """Keyword arguments for ``offer_book``."""
        fields = {"condition": self.condition.data, "note": self.note.data or ""}
        if self.book is not None:
            return {**fields, "book_id": self.book.id}
        return {
            **fields,
            "title": self.title.data or "",
            "author": self.author.data or "",
            "isbn": self.isbn.data or "",
        }


class WishlistAddForm(FlaskForm):
    isbn = StringField("ISBN", filters=[_strip], validators=[DataRequired(message="Enter the book's ISBN.")])
    note = StringField("Note (optional)", filters=[_strip], validators=[Length(max=300)])

    book: Book | None = None

    def validate_isbn(self, field):
        try:
            self.book = catalogue_book(field.data)
        except InvalidISBN as exc:
            raise ValidationError(str(exc)) from None
        if self.book is None:
            raise ValidationError("No book with that ISBN is in our catalogue.")


__all__ = ["DonationForm", "OfferForm", "WishlistAddForm", "catalogue_book"]
