"""The JSON API for the mobile shell (``/api/v1``): bearer tokens, the same services as the site.

Every request and response shape is declared once (shapes.py, club_shapes.py) and gives validation,
serialization and the OpenAPI document (spec.py), through flask-smorest and marshmallow.

It is exempt from CSRF only because it never reads cookies: every call is authorised by an
``Authorization: Bearer`` access token, or by nothing.
"""

from flask_smorest import Blueprint

from app.api.common import ApiError, Parser, problems, validation_problem
from app.extensions import csrf


class ApiBlueprint(Blueprint):
    ARGUMENTS_PARSER = Parser()

    def arguments(self, schema, *, location="json", **kwargs):
        """As flask-smorest's, and a body that is not a JSON object is documented as a 400."""
        decorator = super().arguments(schema, location=location, **kwargs)
        return decorator if location != "json" else lambda view: problems(400)(decorator(view))


bp = ApiBlueprint("api", __name__, url_prefix="/api/v1", description="The mobile shell's API")
csrf.exempt(bp)
bp.register_error_handler(422, validation_problem)


@bp.app_errorhandler(ApiError)
def _api_error(error: ApiError):
    return error.get_response()


from app.api import (  # noqa: E402,F401
    addresses,
    auth_views,
    cart_quote,
    catalogue,
    clubs,
    contests,
    me,
    notifications,
    orders,
)
from app.api.spec import init_api  # noqa: E402,F401
