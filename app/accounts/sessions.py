"""Flask-Login wiring: the cookie names a user *and* a session version."""

from flask import Flask, Response

from app.accounts.user_cache import install_user_cache, load_signed_in
from app.extensions import login_manager
from app.models import User


def configure_login(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = "Please log in to see that page."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    skip_remember_cookie_update_for_empty_sessions(app)
    install_user_cache()


def skip_remember_cookie_update_for_empty_sessions(app: Flask) -> None:
    """Flask-Login's after-request hook reads the session on every answer, which marks it accessed
    (and so adds ``Vary: Cookie``) even for a visitor without one. An empty session holds neither
    ``_remember`` nor ``_user_id``, so for it the hook had nothing to do: run it only when there is
    a session."""
    from flask.globals import _cv_request

    hooks = app.after_request_funcs.get(None, [])
    theirs = getattr(login_manager, "_update_remember_cookie", None)

    def update_remember_cookie(response: Response) -> Response:
        # ``_session``, not ``session``: reading the property marks the session accessed itself.
        return theirs(response) if _cv_request.get()._session else response

    hooks[:] = [update_remember_cookie if hook == theirs else hook for hook in hooks]


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """Load the user only if the cookie's session version is still current and they may log in.

    The row comes from a short-lived snapshot in the shared cache (``user_cache``), which every
    change to the user (a version bump, deactivation, a role change) replaces at once."""
    try:
        uid, version = (int(part) for part in user_id.split(":", 1))
    except ValueError:
        return None
    user = load_signed_in(uid)
    if user is None or user.session_version != version or not user.is_active:
        return None
    return user


# What a visitor may take into their new session (the cart merges into the account).
CARRIED_OVER = ("cart",)


def start_session(user: User, remember: bool = False) -> None:
    """Log ``user`` in on a fresh session: only the visitor's cart carries over."""
    from flask import session
    from flask_login import login_user

    kept = {key: session[key] for key in CARRIED_OVER if key in session}
    session.clear()
    session.update(kept)
    login_user(user, remember=remember, fresh=True)


def end_session() -> None:
    from flask import session
    from flask_login import logout_user

    logout_user()
    session.clear()
