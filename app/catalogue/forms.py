"""The catalogue's search and filter form (a GET form: no CSRF, bookmarkable)."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, DecimalField, IntegerField, SearchField, SelectChoice, SelectField
from wtforms.validators import NumberRange, Optional, ValidationError

from app.catalogue.queries import PAGE_SIZES, SORTS, CatalogueParams

# The fields in the filter panel (the search box is written out in the page itself).
FILTER_FIELDS = ("genre", "min_price", "max_price", "in_stock", "sort", "per_page")


class CatalogueForm(FlaskForm):
    class Meta:
        csrf = False

    q = SearchField("Search books", description="Title, author, ISBN or words from the description.")
    genre = SelectField("Genre", choices=[SelectChoice("", "All genres")], validate_choice=False)
    min_price = DecimalField("Min price ($)", places=2, validators=[Optional(), NumberRange(min=0, max=100000)])
    max_price = DecimalField("Max price ($)", places=2, validators=[Optional(), NumberRange(min=0, max=100000)])
    in_stock = BooleanField("In stock only")
    sort = SelectField("Sort by", choices=[SelectChoice(k, v) for k, v in SORTS.items()], default="relevance")
    page = IntegerField("Page", default=1, validators=[Optional(), NumberRange(min=1, max=100000)])
    per_page = SelectField("Per page", choices=[SelectChoice(str(n)) for n in PAGE_SIZES], default="24")
    # Set by the "Search instead for ..." link only: the form itself never shows it.
    exact = BooleanField("Search exactly as typed")

    def set_genres(self, genres) -> None:
        self.genre.choices = [SelectChoice("", "All genres")] + [SelectChoice(slug, name) for slug, name in genres]

    def validate_max_price(self, field):
        if field.data is not None and self.min_price.data is not None and field.data < self.min_price.data:
            raise ValidationError("The maximum price is below the minimum.")

    def to_params(self) -> CatalogueParams:
        """The parameters, leaving out any field that did not validate."""

        def ok(field):
            return not field.errors

        def cents(field):
            return int(field.data * 100) if ok(field) and field.data is not None else None

        return CatalogueParams(
            q=(self.q.data or "").strip()[:200],
            genre=self.genre.data or "",
            min_price_cents=cents(self.min_price),
            max_price_cents=cents(self.max_price),
            in_stock=bool(self.in_stock.data),
            sort=self.sort.data if ok(self.sort) and self.sort.data in SORTS else "relevance",
            page=self.page.data if ok(self.page) and self.page.data else 1,
            per_page=int(self.per_page.data) if ok(self.per_page) else 24,
            exact=bool(self.exact.data),
        )
