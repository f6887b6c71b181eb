"""Sign-in for the shell: tokens, refresh rotation, log out, and a one-time web-session link."""

from flask import current_app, g, jsonify, url_for
from flask_limiter.util import get_remote_address

from app.accounts import known_devices
from app.accounts import services as accounts
from app.api import bp
from app.api.common import ApiError, invalid, json_body, token_required
from app.api.tokens import (
    TokenInvalid,
    create_web_session_ticket,
    issue_tokens,
    refresh_tokens,
    revoke_refresh_token,
)
from app.extensions import limiter


def _token_account_key() -> str:
    from flask import request

    body = request.get_json(silent=True) or {}
    email = accounts.normalise_email(str(body.get("email", ""))) if isinstance(body, dict) else ""
    if not email:
        return f"login-ip:{get_remote_address()}"
    # An app that signed in to this account before sends its device token: its own budget (see known_devices).
    return known_devices.limit_key(email, body.get("device_token"))


def _pair(tokens) -> dict:
    return {
        "access_token": tokens.access_token,
        "token_type": "Bearer",
        "expires_in": tokens.expires_in,
        "refresh_token": tokens.refresh_token,
    }


@bp.route("/auth/token", methods=["POST"])
@limiter.shared_limit(  # one guessing budget with the web log in (same scopes and keys)
    lambda: current_app.config["LOGIN_LIMIT_PER_IP"], scope="login-ip", deduct_when=lambda r: r.status_code == 401
)
@limiter.shared_limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"],
    key_func=_token_account_key,
    scope="login-account",
    deduct_when=lambda r: r.status_code == 401,
)
def token():
    """Email and password for an access token (short-lived) and a refresh token (long-lived).

    The answer's ``device_token``, sent back with later sign-ins, lets this app sign in with the
    right password even while guessers elsewhere have used up the account's budget.
    """
    body = json_body()
    email, password = body.get("email"), body.get("password")
    errors = {}
    if not isinstance(email, str) or "@" not in email:
        errors["email"] = ["Give the email address of your account."]
    if not isinstance(password, str) or not password:
        errors["password"] = ["Give your password."]
    if errors:
        raise invalid(errors)
    try:
        user = accounts.authenticate(email, password)
    except accounts.AccountError as exc:
        raise ApiError(403, "Forbidden", str(exc)) from None
    if user is None:
        raise ApiError(401, "Unauthorized", "Invalid email or password.")
    device_token = known_devices.proof_after_log_in(body.get("device_token"), user.email)
    return jsonify(_pair(issue_tokens(user)) | {"device_token": device_token})


@bp.route("/auth/refresh", methods=["POST"])
def refresh():
    """Trade a refresh token for a new pair; the old refresh token stops working."""
    value = json_body().get("refresh_token")
    if not isinstance(value, str) or not value:
        raise invalid({"refresh_token": ["Give the refresh token."]})
    try:
        return jsonify(_pair(refresh_tokens(value)))
    except TokenInvalid as exc:
        raise ApiError(401, "Unauthorized", str(exc)) from None


@bp.route("/auth/logout", methods=["POST"])
def logout():
    """Revoke a refresh token (and every token rotated from it)."""
    value = json_body().get("refresh_token")
    if not isinstance(value, str) or not value:
        raise invalid({"refresh_token": ["Give the refresh token."]})
    revoke_refresh_token(value)
    return "", 204


@bp.route("/auth/web-session", methods=["POST"])
@token_required
def web_session():
    """A one-time, short-lived URL that opens the site in the webview already signed in."""
    from flask import request

    body = request.get_json(silent=True)
    body = body if isinstance(body, dict) else {}
    next_path = body.get("next") if isinstance(body.get("next"), str) else "/"
    ticket = create_web_session_ticket(g.api_user, next_path)
    return jsonify(
        url=url_for("accounts.app_sign_in", token=ticket, _external=True),
        expires_in=current_app.config["API_WEB_SESSION_SECONDS"],
    ), 201
