"""The JSON API for the mobile shell (``/api/v1``): bearer tokens, the same services as the site.

It is exempt from CSRF only because it never reads cookies: every call is authorised by an
``Authorization: Bearer`` access token, or by nothing.
"""

from flask import Blueprint

from app.extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)

from app.api.common import ApiError  # noqa: E402


@bp.app_errorhandler(ApiError)
def _api_error(error: ApiError):
    return error.get_response()


from app.api import (  # noqa: E402,F401
    auth_views,
    catalogue,
    clubs,
    contests,
    me,
    notifications,
    openapi,
)
