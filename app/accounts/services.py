"""Account rules: who may register, log in, change what, and which emails go out.

Messages shown to the visitor never reveal whether an email address has an account, and
neither does the time they take: registration hashes the password and reset records an email
whether or not the address is known, and every email goes out through the outbox after the
commit (the same path in both branches).
"""

from __future__ import annotations

import hashlib
import time

from flask import url_for
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from app.accounts.passwords import burn_time, hash_password, verify_password
from app.accounts.refresh_tokens import revoke_all_for
from app.accounts.tokens import RESET_SALT, VERIFY_SALT, LinkUsed, TokenError, make_token, read_token
from app.extensions import db
from app.models import EmailMessage, User
from app.models.base import utcnow
from app.notifications.email import record_email

DELETED_NAME = "Deleted reader"


class AccountError(Exception):
    """A rule refused the change; the message is safe to show."""


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def _bucket(seconds: int) -> int:
    # Idempotency keys per time bucket: a double click sends one email, a later retry another.
    return int(time.time() // seconds)


# The account pages an email may point to, by the name its template gives the link.
PAGE_LINKS = {
    "login_link": "accounts.login",
    "reset_link": "accounts.reset_request",
    "register_link": "accounts.register",
}


def _account_email(
    key: str, template: str, to: str, subject: str, user: User | None = None, links: tuple[str, ...] = (), **context
) -> EmailMessage:
    """Record an account email (sent when the caller commits), with a link to each page named in ``links``."""
    context.update({name: url_for(PAGE_LINKS[name], _external=True) for name in links})
    return record_email(key=key, template=template, to=to, subject=subject, user=user, **context)


def _verification_email(user: User, address: str) -> EmailMessage:
    token = make_token(VERIFY_SALT, {"uid": user.id, "email": address})
    return _account_email(
        f"verify:{user.id}:{address}:{_bucket(300)}",
        "verify_email",
        address,
        "Confirm your email for Book Commerce",
        user,
        link=url_for("accounts.verify_email", token=token, _external=True),
        changing=address != user.email,
    )


def register_user(email: str, name: str, password: str) -> User | None:
    """Create a reader and email a verification link.

    If the address is taken, its owner gets an email saying so instead; the caller shows the
    same page either way, after the same work (a password hash, one email recorded and sent
    through the outbox). Returns the new user, or None when nothing was created.
    """
    email = normalise_email(email)
    password_hash = hash_password(password)  # either way: a known address must not answer faster
    existing = find_user_by_email(email)
    if existing is not None:
        _account_email(
            f"register-existing:{existing.id}:{_bucket(3600)}",
            "register_existing",
            existing.email,
            "Someone tried to register with your email",
            existing,
            links=("login_link", "reset_link"),
        )
        db.session.commit()
        return None
    user = User(email=email, name=name.strip(), password_hash=password_hash)
    db.session.add(user)
    try:
        db.session.flush()
    except IntegrityError:  # registered a moment ago by a concurrent request
        db.session.rollback()
        return None
    _verification_email(user, email)
    db.session.commit()
    return user


def resend_verification(user: User) -> None:
    """Send the verification link again (at most one per five minutes)."""
    if user.is_verified:
        return
    _verification_email(user, user.email)
    db.session.commit()


def verify_email(token: str, max_age: int) -> User:
    """Confirm an address from a link: a new account's email, or a requested change of email.

    Raises ``LinkUsed`` when the address is confirmed already (the link was opened before)."""
    payload = read_token(VERIFY_SALT, token, max_age)
    user = db.session.get(User, payload.get("uid"))
    address = payload.get("email")
    if user is None or not user.is_active:
        raise TokenError("This link is not valid. Ask for a new one.")
    if address == user.email:
        if user.email_verified_at is not None:
            # The link signs in, so it works once: a confirmed address means it was used.
            raise LinkUsed("This link was already used: your email is confirmed. Log in below.", address)
        user.email_verified_at = utcnow()
        db.session.commit()
        _claim_guest_orders(user)
        return user
    if address != user.pending_email:
        raise TokenError("This link was replaced by a newer one. Use the latest email we sent.")
    if find_user_by_email(address) is not None:
        raise TokenError("That email address is now used by another account.")
    old_address = user.email
    user.email = address
    user.pending_email = None
    user.email_verified_at = utcnow()
    _account_email(
        f"email-changed:{user.id}:{address}",
        "email_changed",
        old_address,
        "Your Book Commerce email was changed",
        user,
        new_address=address,
    )
    db.session.commit()
    _claim_guest_orders(user)
    return user


def _claim_guest_orders(user: User) -> None:
    """The orders bought as a guest with this (verified) address join the account."""
    from app.orders.guests import claim_guest_orders

    claim_guest_orders(user)


def authenticate(email: str, password: str) -> User | None:
    """The user these credentials belong to, or None. Upgrades an old password hash.

    Raises AccountError only for a correct password on a disabled account.
    """
    user = find_user_by_email(email)
    if user is None or user.deleted_at is not None:
        burn_time(password)
        return None
    matches, needs_rehash = verify_password(user.password_hash, password)
    if not matches:
        return None
    if user.is_disabled:
        raise AccountError("This account is disabled. Contact support if you think this is a mistake.")
    if needs_rehash:
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    db.session.commit()
    _claim_guest_orders(user)
    return user


def end_all_sessions(user: User) -> None:
    """Make every session and remember-me cookie of ``user`` stop working, and the app's tokens."""
    db.session.execute(update(User).where(User.id == user.id).values(session_version=User.session_version + 1))
    revoke_all_for(user)  # "every device" includes the app
    db.session.commit()
    db.session.refresh(user)


def update_profile(user: User, *, name: str, bio: str, time_zone: str, email: str) -> bool:
    """Save the profile; a new email waits for confirmation. Returns True if a link was sent."""
    user.name = name.strip()
    user.bio = bio.strip()
    user.time_zone = time_zone
    email = normalise_email(email)
    # An address used by someone else gets no link, but the page says the same thing.
    if email != user.email and find_user_by_email(email) is None:
        user.pending_email = email
        _verification_email(user, email)
    db.session.commit()
    return email != user.email


def change_password(user: User, current: str, new: str) -> None:
    """Replace the password after checking the current one; ends every other session."""
    matches, _ = verify_password(user.password_hash, current)
    if not matches:
        raise AccountError("Your current password is not correct.")
    _set_password(user, new)


def _set_password(user: User, new: str) -> None:
    user.password_hash = hash_password(new)
    user.session_version = User.session_version + 1
    revoke_all_for(user)  # the app on a lost phone must sign in again too
    _account_email(
        f"password-changed:{user.id}:{_bucket(60)}",
        "password_changed",
        user.email,
        "Your Book Commerce password was changed",
        user,
        links=("reset_link",),
    )
    db.session.commit()
    db.session.refresh(user)


def _password_fingerprint(user: User) -> str:
    # Part of the current hash: once the password changes, older reset links stop working.
    return user.password_hash[-12:]


def request_password_reset(email: str) -> None:
    """Email a reset link if the address has an active account, else a note that it has none.

    Both branches record one email and commit, and the outbox sends it after the commit, so the
    answer takes as long whether or not the address is known. The note tells a person who
    forgot which address they used (or that someone typed theirs) without a link to follow.
    """
    address = normalise_email(email)
    user = find_user_by_email(address)
    if user is None or not user.is_active:
        _account_email(
            f"reset-unknown:{hashlib.sha256(address.encode()).hexdigest()[:40]}:{_bucket(120)}",
            "reset_unknown",
            address,
            "Reset your Book Commerce password",
            links=("register_link", "reset_link"),
        )
        db.session.commit()
        return
    token = make_token(RESET_SALT, {"uid": user.id, "fp": _password_fingerprint(user)})
    _account_email(
        f"reset:{user.id}:{_bucket(120)}",
        "reset_password",
        user.email,
        "Reset your Book Commerce password",
        user,
        link=url_for("accounts.reset_password", token=token, _external=True),
    )
    db.session.commit()


def user_for_reset_token(token: str, max_age: int) -> User:
    """The user a reset link is for, if the link is valid, unexpired and unused."""
    payload = read_token(RESET_SALT, token, max_age)
    user = db.session.get(User, payload.get("uid"))
    if user is None or not user.is_active or payload.get("fp") != _password_fingerprint(user):
        raise TokenError("This reset link has been used or replaced. Ask for a new one.")
    return user


def reset_password(token: str, new: str, max_age: int) -> User:
    """Set a new password from a reset link; the link then stops working."""
    user = user_for_reset_token(token, max_age)
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()  # the link proved they read this mailbox
    _set_password(user, new)
    _claim_guest_orders(user)
    return user


def delete_account(user: User, password: str) -> None:
    """Delete the account after a password check.

    The row stays, anonymised, because orders, donations and contest results point at it;
    the person's name, email and emails' contents are removed.
    """
    matches, _ = verify_password(user.password_hash, password)
    if not matches:
        raise AccountError("That password is not correct; your account was not deleted.")
    anonymise_account(user)


def anonymise_account(user: User) -> None:
    """Delete an account without a password check (``delete_account`` after its check, and the
    admin's ``flask users delete``).

    The row stays, anonymised, because orders, donations and contest results point at it;
    the person's name, email, addresses and emails' contents are removed, and every session and
    token ends.
    """
    if user.deleted_at is not None:
        raise AccountError("That account is already deleted.")
    user.email = f"deleted-{user.id}@deleted.invalid"
    user.pending_email = None
    user.name = DELETED_NAME
    user.bio = ""
    user.password_hash = "!deleted"
    user.is_admin = False
    user.deleted_at = utcnow()
    user.session_version = User.session_version + 1
    db.session.execute(
        update(EmailMessage)
        .where(EmailMessage.user_id == user.id)
        .values(recipient=user.email, body_text="", body_html="")
    )
    from app.models import Address, Device, Notification, Order

    revoke_all_for(user)
    # Orders bought as a guest then claimed kept the address they were bought with: it goes too.
    db.session.execute(update(Order).where(Order.user_id == user.id).values(guest_email=None))
    db.session.execute(delete(Address).where(Address.user_id == user.id))  # where they live is theirs alone
    db.session.execute(delete(Device).where(Device.user_id == user.id))
    db.session.execute(delete(Notification).where(Notification.user_id == user.id))
    db.session.commit()


def count_users() -> int:
    return db.session.scalar(select(func.count(User.id)))
