"""Sign-in for the shell: tokens, refresh rotation, log out, and a one-time web-session link."""

from flask import current_app, g, request, url_for
from flask_limiter.util import get_remote_address

from app.accounts import known_devices
from app.accounts import services as accounts
from app.accounts.refresh_tokens import (
    TokenInvalid,
    create_web_session_ticket,
    issue_tokens,
    refresh_tokens,
    revoke_refresh_token,
)
from app.api import bp
from app.api.common import ApiError, problems, token_required
from app.api.shapes import RefreshRequest, SignedIn, TokenPair, TokenRequest, WebSession, WebSessionRequest
from app.extensions import limiter

TAGS = ["auth"]


def _token_account_key() -> str:
    body = request.get_json(silent=True) or {}
    email = accounts.normalise_email(str(body.get("email", ""))) if isinstance(body, dict) else ""
    if not email:
        return f"login-ip:{get_remote_address()}"
    # An app that signed in to this account before sends its device token: its own budget (see known_devices).
    return known_devices.limit_key(email, body.get("device_token"))


def _deduct(response) -> bool:
    return response.status_code == 401


@bp.route("/auth/token", methods=["POST"], tags=TAGS)
@limiter.shared_limit(  # one guessing budget with the web log in (same scopes and keys)
    lambda: current_app.config["LOGIN_LIMIT_PER_IP"], scope="login-ip", deduct_when=_deduct
)
@limiter.shared_limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"],
    key_func=_token_account_key,
    scope="login-account",
    deduct_when=_deduct,
)
@bp.arguments(TokenRequest)
@bp.response(200, SignedIn)
@problems(401, 403, 429)
@bp.doc(operationId="createToken")
def token(body):
    """Sign in: email and password for an access token (short-lived) and a refresh token (long-lived)

    The answer's ``device_token``, sent back with later sign-ins, lets this app sign in with the
    right password even while guessers elsewhere have used up the account's budget.
    """
    try:
        user = accounts.authenticate(body["email"], body["password"])
    except accounts.AccountError as exc:
        raise ApiError(403, "Forbidden", str(exc)) from None
    if user is None:
        raise ApiError(401, "Unauthorized", "Invalid email or password.")
    device_token = known_devices.proof_after_log_in(body.get("device_token"), user.email)
    pair = issue_tokens(user)
    return {
        "access_token": pair.access_token,
        "refresh_token": pair.refresh_token,
        "expires_in": pair.expires_in,
        "device_token": device_token,
    }


@bp.route("/auth/refresh", methods=["POST"], tags=TAGS)
@bp.arguments(RefreshRequest)
@bp.response(200, TokenPair)
@problems(401)
@bp.doc(operationId="refreshToken")
def refresh(body):
    """Rotate a refresh token: a new pair; the old refresh token stops working (a reused one ends its family)"""
    try:
        return refresh_tokens(body["refresh_token"])
    except TokenInvalid as exc:
        raise ApiError(401, "Unauthorized", str(exc)) from None


@bp.route("/auth/logout", methods=["POST"], tags=TAGS)
@bp.arguments(RefreshRequest)
@bp.response(204)
@bp.doc(operationId="logout")
def logout(body):
    """Log out: revoke a refresh token (and every token rotated from it)"""
    revoke_refresh_token(body["refresh_token"])


@bp.route("/auth/web-session", methods=["POST"], tags=TAGS)
@token_required
@bp.arguments(WebSessionRequest, required=False)
@bp.response(201, WebSession)
@bp.doc(operationId="createWebSession")
def web_session(body):
    """A one-time, short-lived URL that opens the site in the webview already signed in"""
    ticket = create_web_session_ticket(g.api_user, body.get("next") or "/")
    return {
        "url": url_for("accounts.app_sign_in", token=ticket, _external=True),
        "expires_in": current_app.config["API_WEB_SESSION_SECONDS"],
    }
