"""Password hashing with Argon2id; older or weaker hashes are upgraded at log in."""

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from werkzeug.security import check_password_hash


def _hasher() -> PasswordHasher:
    cfg = current_app.config
    # argon2-cffi's defaults (Argon2id, t=3, m=64 MiB) meet OWASP; tests lower them.
    return PasswordHasher(
        time_cost=cfg.get("ARGON2_TIME_COST", 3),
        memory_cost=cfg.get("ARGON2_MEMORY_COST", 65536),
    )


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(stored_hash: str, password: str) -> tuple[bool, bool]:
    """Check ``password``; returns (matches, needs_rehash)."""
    hasher = _hasher()
    if stored_hash.startswith("$argon2"):
        try:
            hasher.verify(stored_hash, password)
        except (VerificationError, InvalidHashError):
            return False, False
        return True, hasher.check_needs_rehash(stored_hash)
    # Hashes from Werkzeug (scrypt/pbkdf2), e.g. imported accounts: accept once, then upgrade.
    try:
        return check_password_hash(stored_hash, password), True
    except ValueError:
        return False, False


_DUMMY: dict[str, str] = {}


def burn_time(password: str) -> None:
    """Spend the time of one verification, so an unknown email answers as slowly as a known one."""
    key = "dummy"
    if key not in _DUMMY:
        _DUMMY[key] = hash_password("not-a-real-password")
    verify_password(_DUMMY[key], password)
