"""Known devices: a correct password from a device that signed in before is not locked out by guessers.

A per-account limit on failed log-ins stops password guessing, but as it stood anyone could spend
the budget: five wrong passwords from anywhere locked the real owner out for up to an hour. Large
sites answer this with *device cookies* (OWASP, "Slow Down Online Guessing Attacks with Device
Cookies"; the same idea as Google's and Microsoft's "familiar device" sign-in):

- A successful log-in gives the browser (a cookie) or the app (``device_token`` in the token
  answer) a signed proof: a random device id plus the accounts that signed in with it.
- An attempt that presents a valid proof for *this* account is counted against that device's own
  budget (``login-device``), not the account's. The owner, on their phone or laptop, gets in with
  the right password while someone elsewhere is hammering the account.
- An attempt without a proof (a guesser, or the owner on a new device) is counted against the
  account's budget as before, and is refused with 429 when it runs out, right password or not.
- The per-address limit still applies to everyone, and a stolen proof buys only its own budget.

The proof is signed (so it cannot be made up) and names accounts by a hash of their email (so a
shared computer's cookie does not show who used it). It expires after ``MAX_AGE`` and is renewed at
each successful log-in. Per-address counting (the alternative the issue allows) was not chosen:
the owner and a guesser behind the same carrier NAT or office proxy share an address, and a
guesser with a botnet has many.
"""

from __future__ import annotations

import hashlib
import secrets

from flask import Response, request

from app.accounts.services import normalise_email
from app.accounts.tokens import TokenError, make_token, read_token

COOKIE = "known_device"
SALT = "accounts.known-device"
MAX_AGE = 180 * 24 * 3600
MAX_ACCOUNTS = 5  # accounts remembered per device (a shared family computer)


def _account_tag(email: str) -> str:
    return hashlib.sha256(normalise_email(email).encode()).hexdigest()[:20]


def _read(proof: str | None) -> dict | None:
    if not proof or not isinstance(proof, str):
        return None
    try:
        payload = read_token(SALT, proof, MAX_AGE)
    except TokenError:
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("d"), str) or not isinstance(payload.get("a"), list):
        return None
    return payload


def device_for(proof: str | None, email: str) -> str | None:
    """The device id in ``proof`` if it is valid and ``email``'s account signed in with it, else None."""
    payload = _read(proof)
    if payload is None or not email or _account_tag(email) not in payload["a"]:
        return None
    return payload["d"]


def proof_after_log_in(proof: str | None, email: str) -> str:
    """A renewed proof for this device that includes ``email``'s account (keeps the device id)."""
    payload = _read(proof) or {"d": secrets.token_hex(16), "a": []}
    tag = _account_tag(email)
    accounts = [tag] + [other for other in payload["a"] if other != tag]
    return make_token(SALT, {"d": payload["d"], "a": accounts[:MAX_ACCOUNTS]})


def remember_browser(response: Response, email: str) -> Response:
    """Set the device cookie after a successful log-in on the site."""
    response.set_cookie(
        COOKIE,
        proof_after_log_in(request.cookies.get(COOKIE), email),
        max_age=MAX_AGE,
        path="/auth",
        httponly=True,
        secure=request.is_secure,
        samesite="Lax",
    )
    return response


def limit_key(email: str, proof: str | None) -> str:
    """The rate-limit key of a log-in attempt: the device when it is known to the account, else the account."""
    device = device_for(proof, email)
    return f"login-device:{device}" if device else f"login-account:{normalise_email(email)}"
