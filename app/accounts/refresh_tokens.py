"""The app's credentials: short-lived JWT access tokens, rotating refresh tokens, web-session tickets.

They belong to accounts (a password change or a closed account ends them); the API only hands them
out and reads them.

Refresh tokens are random strings stored as SHA-256 hashes. Each refresh marks the presented
token used and issues a new one in the same family; if a used token is ever presented again
(it was stolen, or replayed), the whole family is revoked and the reader must sign in again.

An access token names its family (the ``fam`` claim), and every API call checks that the family
is not revoked, in the same query that loads the user (an indexed ``EXISTS`` on
``refresh_tokens.family``). So log out and reuse detection end the family's access tokens at once,
not when they expire; a password change or "log out everywhere" ends them through ``sv``.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt
from flask import current_app
from sqlalchemy import exists, select, update

from app.extensions import db
from app.ids import parse_id
from app.keys import API_JWT, signing_key
from app.models import RefreshToken, User, WebSessionTicket
from app.models.base import utcnow

ALGORITHM = "HS256"
AUDIENCE = "bookcommerce-api"


class TokenInvalid(Exception):
    """Missing, malformed, expired or revoked credentials; the message is safe to show."""


@dataclass
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def access_token_for(user: User, family: str) -> tuple[str, int]:
    lifetime = current_app.config["API_ACCESS_TOKEN_SECONDS"]
    now = utcnow()
    claims = {
        "sub": str(user.id),
        "sv": user.session_version,  # a password change or log out everywhere ends API access too
        "fam": family,  # revoking the refresh-token family ends this token too
        "aud": AUDIENCE,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=lifetime)).timestamp()),
    }
    return sign_claims(claims), lifetime


def sign_claims(claims: dict) -> str:
    """An access JWT over ``claims``, signed with the key derived for API tokens (tests forge
    odd-shaped tokens with it)."""
    return jwt.encode(claims, signing_key(API_JWT), algorithm=ALGORITHM)


def user_for_access_token(token: str) -> User:
    try:
        claims = jwt.decode(token, signing_key(API_JWT), algorithms=[ALGORITHM], audience=AUDIENCE)
    except jwt.ExpiredSignatureError as exc:
        raise TokenInvalid("The access token has expired; refresh it.") from exc
    except jwt.InvalidTokenError as exc:
        raise TokenInvalid("The access token is not valid.") from exc
    user_id, family = parse_id(claims.get("sub")), claims.get("fam")
    if user_id is None or not isinstance(family, str):
        # Signed with our key but not shaped as we issue them (an old token, or a key leaked elsewhere).
        raise TokenInvalid("The access token is not valid.")
    family_revoked = exists().where(RefreshToken.family == family, RefreshToken.revoked_at.is_not(None))
    row = db.session.execute(select(User, family_revoked).where(User.id == user_id)).first()
    user, revoked = row if row is not None else (None, True)
    if user is None or revoked or not user.is_active or user.session_version != claims.get("sv"):
        raise TokenInvalid("The access token has been revoked; sign in again.")
    return user


def _use_once(model: type[RefreshToken] | type[WebSessionTicket], row_id: int, now: datetime) -> bool:
    """Mark a one-time token used; False when it already was. A conditional update: of two
    concurrent uses of the same token, only one wins. No commit."""
    return bool(
        db.session.execute(
            update(model)
            .where(model.id == row_id, model.used_at.is_(None))
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
    )


def _new_refresh(user: User, family: str) -> str:
    token = secrets.token_urlsafe(32)
    db.session.add(
        RefreshToken(
            user_id=user.id,
            token_hash=_hash(token),
            family=family,
            expires_at=utcnow() + timedelta(seconds=current_app.config["API_REFRESH_TOKEN_SECONDS"]),
        )
    )
    return token


def issue_tokens(user: User) -> TokenPair:
    """A new access token and a new refresh-token family (at sign in)."""
    family = secrets.token_hex(16)
    refresh = _new_refresh(user, family=family)
    db.session.commit()
    access, lifetime = access_token_for(user, family)
    return TokenPair(access, refresh, lifetime)


def refresh_tokens(refresh_token: str) -> TokenPair:
    """Rotate a refresh token. A token used before revokes its whole family."""
    now = utcnow()
    row = db.session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == _hash(refresh_token)).with_for_update()
    )
    if row is None:
        raise TokenInvalid("The refresh token is not valid; sign in again.")
    if row.revoked_at is not None:
        raise TokenInvalid("The refresh token has been revoked; sign in again.")
    if row.used_at is not None:
        revoke_family(row.family)
        raise TokenInvalid("This refresh token was already used, so every session from it is now ended; sign in again.")
    if row.expires_at <= now:
        raise TokenInvalid("The refresh token has expired; sign in again.")
    user = db.session.get(User, row.user_id)
    if user is None or not user.is_active:
        raise TokenInvalid("This account cannot sign in.")
    if not _use_once(RefreshToken, row.id, now):
        db.session.rollback()
        revoke_family(row.family)
        raise TokenInvalid("This refresh token was already used, so every session from it is now ended; sign in again.")
    family = row.family
    new = _new_refresh(user, family)
    db.session.commit()
    access, lifetime = access_token_for(user, family)
    return TokenPair(access, new, lifetime)


def revoke_family(family: str) -> None:
    db.session.execute(
        update(RefreshToken)
        .where(RefreshToken.family == family, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def revoke_refresh_token(refresh_token: str) -> bool:
    """Log out: revoke the token's family. Returns False if the token is unknown."""
    row = db.session.scalar(select(RefreshToken).where(RefreshToken.token_hash == _hash(refresh_token)))
    if row is None:
        return False
    revoke_family(row.family)
    return True


def revoke_all_for(user: User) -> None:
    db.session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user.id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def _on_this_site(path: str) -> bool:
    # Browsers drop tabs and newlines from URLs and read a backslash as "/": "/<tab>/evil.example" leaves.
    return (
        path.startswith("/")
        and not path.startswith("//")
        and not any(char == "\\" or ord(char) <= 32 or ord(char) == 127 for char in path)
    )


def create_web_session_ticket(user: User, next_path: str = "/") -> str:
    """A one-time token for a link that logs the webview in (valid a short time)."""
    if not _on_this_site(next_path):
        next_path = "/"
    token = secrets.token_urlsafe(32)
    db.session.add(
        WebSessionTicket(
            user_id=user.id,
            token_hash=_hash(token),
            next_path=next_path[:500],
            expires_at=utcnow() + timedelta(seconds=current_app.config["API_WEB_SESSION_SECONDS"]),
        )
    )
    db.session.commit()
    return token


def redeem_web_session_ticket(token: str) -> tuple[User, str]:
    """The user and where to go, once; a used or expired ticket is refused."""
    now = utcnow()
    ticket = db.session.scalar(select(WebSessionTicket).where(WebSessionTicket.token_hash == _hash(token)))
    if ticket is None or ticket.expires_at <= now:
        raise TokenInvalid("This sign-in link has expired. Open the page from the app again.")
    won = _use_once(WebSessionTicket, ticket.id, now)
    db.session.commit()
    if not won:
        raise TokenInvalid("This sign-in link was already used. Open the page from the app again.")
    user = db.session.get(User, ticket.user_id)
    if user is None or not user.is_active:
        raise TokenInvalid("This account cannot sign in.")
    return user, ticket.next_path
