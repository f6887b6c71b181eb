from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField
from wtforms.validators import DataRequired, InputRequired, NumberRange

from app.cart.services import MAX_PER_LINE


class AddToCartForm(FlaskForm):
    book_id = HiddenField(validators=[DataRequired()])
    quantity = IntegerField(
        "Quantity",
        default=1,
        validators=[InputRequired(message="Enter how many copies."), NumberRange(min=1, max=MAX_PER_LINE)],
    )


class QuantityForm(FlaskForm):
    quantity = IntegerField(
        "Quantity",
        validators=[InputRequired(message="Enter how many copies."), NumberRange(min=0, max=MAX_PER_LINE)],
    )
