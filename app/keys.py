"""One key per use, derived from SECRET_KEY, and the development key kept in instance/.

Sessions (and their CSRF tokens), email-link tokens, guest-order links and API access tokens each sign with their own
key, HMAC-SHA256(SECRET_KEY, label): a value signed for one use can never verify as another, and
none verifies with SECRET_KEY itself.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from flask import Flask, current_app

SESSION = "session"
CSRF = "csrf"
EMAIL_LINKS = "email-links"
API_JWT = "api-jwt"
GUEST_ORDERS = "guest-order"


def derive_key(secret: str | bytes, purpose: str) -> bytes:
    """The key for ``purpose`` (HKDF-Expand's one-block case: a PRF over a distinct label)."""
    master = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(master, f"bookcommerce/{purpose}/v1".encode(), hashlib.sha256).digest()


def signing_key(purpose: str) -> bytes:
    """The current app's key for ``purpose``."""
    return derive_key(current_app.config["SECRET_KEY"], purpose)


def configure_keys(app: Flask) -> None:
    """Load (or make) the development key, then give CSRF its own derived key."""
    if not app.config.get("SECRET_KEY") and app.config.get("SECRET_KEY_FILE"):
        app.config["SECRET_KEY"] = read_or_create_key(Path(app.instance_path) / app.config["SECRET_KEY_FILE"])
    if app.config.get("SECRET_KEY") and not app.config.get("WTF_CSRF_SECRET_KEY"):
        app.config["WTF_CSRF_SECRET_KEY"] = derive_key(app.config["SECRET_KEY"], CSRF)


def read_or_create_key(path: Path) -> str:
    """The key in ``path``; on first run a new random one, readable by this user only."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(secrets.token_urlsafe(48) + "\n")
    try:
        os.link(draft, path)  # atomic: of two processes starting together, one key wins
    except FileExistsError:
        pass
    finally:
        draft.unlink()
    return path.read_text().strip()
