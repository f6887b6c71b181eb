"""Account pages. Each view parses a form, calls one service, and renders or redirects."""

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required

from app.accounts import bp, known_devices, services
from app.accounts.forms import (
    ChangePasswordForm,
    DeleteAccountForm,
    LoginForm,
    ProfileForm,
    RegisterForm,
    ResetPasswordForm,
    ResetRequestForm,
)
from app.accounts.refresh_tokens import TokenInvalid, redeem_web_session_ticket
from app.accounts.sessions import end_session, start_session
from app.accounts.tokens import LinkUsed, TokenError
from app.contests.reading import year_progress
from app.extensions import limiter
from app.formatting import local_today
from app.forms import ConfirmForm
from app.htmx import is_partial, redirect_after_post, render_page_or_fragment

INVALID_LOGIN = "Invalid email or password."
PREFILL_EMAIL = "login_email"  # an address the log-in form offers next time (from a used link)


def render_form(page: str, fragment: str, form, **context):
    """The form page (or its fragment for htmx); 422 when a submitted form has errors."""
    status = 422 if (form.errors or context.get("error")) else 200
    return render_page_or_fragment(page, fragment, status=status, form=form, **context)


def _safe_next(default: str) -> str:
    target = request.args.get("next", "")
    unsafe = "\\" in target or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in target)
    if target.startswith("/") and not target.startswith("//") and not unsafe:
        return target
    return default


def _login_account_key() -> str:
    """The account's guessing budget, or this browser's own when it logged in to the account before."""
    email = services.normalise_email(request.form.get("email", ""))
    if not email:
        return f"login-ip:{get_remote_address()}"
    return known_devices.limit_key(email, request.cookies.get(known_devices.COOKIE))


@bp.route("/auth/register", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["REGISTER_LIMIT_PER_IP"], methods=["POST"], scope="register")
def register():
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = RegisterForm()
    if form.validate_on_submit():
        services.register_user(form.email.data, form.name.data, form.password.data)
        return redirect_after_post(url_for("accounts.check_email", reason="register"))
    return render_form("accounts/register.html", "accounts/_register_form.html", form)


@bp.route("/auth/check-email")
def check_email():
    return render_template("accounts/check_email.html", reason=request.args.get("reason", "register"))


@bp.route("/auth/login", methods=["GET", "POST"])
@limiter.shared_limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_IP"],
    methods=["POST"],
    scope="login-ip",
    deduct_when=lambda r: r.status_code == 422,
)
@limiter.shared_limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"],
    methods=["POST"],
    key_func=_login_account_key,
    scope="login-account",
    deduct_when=lambda r: r.status_code == 422,
)
def login():
    if current_user.is_authenticated:
        return redirect(_safe_next(url_for("main.index")))
    form = LoginForm()
    if request.method == "GET" and not form.email.data:
        form.email.data = session.pop(PREFILL_EMAIL, None)
    error = None
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.email.data, form.password.data)
        except services.AccountError as exc:
            user, error = None, str(exc)
        if user is not None:
            start_session(user, remember=form.remember.data)
            home = url_for("main.index")
            target = _safe_next(home)
            if target != home:  # the home page greets the reader itself: one welcome, not two
                flash(f"Welcome back, {user.name}.", "success")
            response = redirect_after_post(target)
            return known_devices.remember_browser(response, user.email)
        error = error or INVALID_LOGIN
    return render_form("accounts/login.html", "accounts/_login_form.html", form, error=error)


@bp.route("/auth/logout", methods=["POST"])
def logout():
    form = ConfirmForm()
    if current_user.is_authenticated and form.validate_on_submit():
        services.end_all_sessions(current_user)
        end_session()
        flash("You are logged out on every device.", "info")
    return redirect_after_post(url_for("main.index"))


@bp.route("/auth/verify/<token>")
def verify_email(token: str):
    try:
        user = services.verify_email(token, current_app.config["EMAIL_VERIFY_MAX_AGE"])
    except LinkUsed as exc:
        flash(str(exc), "info")
        if current_user.is_authenticated:
            return redirect(url_for("accounts.account"))
        session[PREFILL_EMAIL] = exc.email
        return redirect(url_for("accounts.login"))
    except TokenError as exc:
        return render_template("accounts/link_error.html", message=str(exc), form=ConfirmForm()), 400
    if not current_user.is_authenticated:
        start_session(user)  # the link came to their inbox, and works once
    flash(f"Thanks, {user.email} is confirmed.", "success")
    if current_user.id != user.id:
        return redirect(url_for("main.index"))  # someone else is signed in here: confirm, do not switch
    return redirect(url_for("accounts.account"))


@bp.route("/auth/verify/resend", methods=["POST"])
@login_required
def resend_verification():
    if ConfirmForm().validate_on_submit():
        services.resend_verification(current_user)
        flash(f"We sent a new confirmation link to {current_user.email}.", "info")
    return redirect_after_post(url_for("accounts.account"))


@bp.route("/auth/reset", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RESET_LIMIT_PER_IP"], methods=["POST"], scope="reset")
def reset_request():
    form = ResetRequestForm()
    if form.validate_on_submit():
        services.request_password_reset(form.email.data)
        return redirect_after_post(url_for("accounts.check_email", reason="reset"))
    return render_form("accounts/reset_request.html", "accounts/_reset_request_form.html", form)


@bp.route("/auth/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    max_age = current_app.config["PASSWORD_RESET_MAX_AGE"]
    try:
        services.user_for_reset_token(token, max_age)
    except TokenError as exc:
        return render_template("accounts/link_error.html", message=str(exc), form=ConfirmForm()), 400
    form = ResetPasswordForm()
    if form.validate_on_submit():
        services.reset_password(token, form.password.data, max_age)
        end_session()
        flash("Your password is changed. Log in with the new one.", "success")
        return redirect_after_post(url_for("accounts.login"))
    return render_form("accounts/reset_password.html", "accounts/_reset_password_form.html", form, token=token)


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    form = ProfileForm(obj=current_user)
    if form.validate_on_submit():
        email_pending = services.update_profile(
            current_user,
            name=form.name.data,
            bio=form.bio.data or "",
            time_zone=form.time_zone.data,
            email=form.email.data,
        )
        flash("Your profile is saved.", "success")
        if email_pending:
            flash(f"We sent a link to {form.email.data.strip().lower()}; your email changes when you open it.", "info")
        return redirect_after_post(url_for("accounts.account"))
    progress = None if is_partial() else year_progress(current_user, local_today(current_user).year)
    return render_form(
        "accounts/account.html", "accounts/_profile_form.html", form, confirm_form=ConfirmForm(), progress=progress
    )


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    error = None
    if form.validate_on_submit():
        try:
            services.change_password(current_user, form.current_password.data, form.password.data)
        except services.AccountError as exc:
            error = str(exc)
        else:
            start_session(current_user)
            flash("Your password is changed. Other devices were logged out.", "success")
            return redirect_after_post(url_for("accounts.account"))
    return render_form("accounts/password.html", "accounts/_password_form.html", form, error=error)


@bp.route("/account/delete", methods=["GET", "POST"])
@login_required
def delete_account():
    form = DeleteAccountForm()
    error = None
    if form.validate_on_submit():
        try:
            services.delete_account(current_user, form.password.data)
        except services.AccountError as exc:
            error = str(exc)
        else:
            end_session()
            flash("Your account is deleted. Thank you for reading with us.", "info")
            return redirect_after_post(url_for("main.index"))
    return render_form("accounts/delete.html", "accounts/_delete_form.html", form, error=error)


@bp.route("/auth/app/<token>")
def app_sign_in(token: str):
    """The shell's one-time link: sign the webview in and go on to the page it asked for."""
    try:
        user, next_path = redeem_web_session_ticket(token)
    except TokenInvalid as exc:  # the shell's link: no password to reset, just sign in again
        return render_template("accounts/link_error.html", message=str(exc), sign_in_again=True), 400
    start_session(user)
    return redirect(next_path)
