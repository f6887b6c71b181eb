"""Signed, expiring links for email verification and password reset."""

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from app.keys import EMAIL_LINKS, signing_key

VERIFY_SALT = "accounts.verify-email"
RESET_SALT = "accounts.reset-password"


class TokenError(Exception):
    """The link is broken, expired, or already used."""


class LinkUsed(TokenError):
    """A one-time link opened again; ``email`` is the address it was for (to pre-fill a form)."""

    def __init__(self, message: str, email: str) -> None:
        super().__init__(message)
        self.email = email


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(signing_key(EMAIL_LINKS), salt=salt)


def make_token(salt: str, payload: dict) -> str:
    return _serializer(salt).dumps(payload)


def read_token(salt: str, token: str, max_age: int) -> dict:
    try:
        return _serializer(salt).loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise TokenError("This link has expired. Ask for a new one.") from exc
    except BadSignature as exc:
        raise TokenError("This link is not valid. Ask for a new one.") from exc
