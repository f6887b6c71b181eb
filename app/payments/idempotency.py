"""One-time keys that make a resent payment form (or API call) return what the first one made.

A key is generated when the form is rendered and sent back in a hidden field; the API takes it
from the ``Idempotency-Key`` header. The services store it under a unique constraint with the
reader's id, so two sends of the same form create one donation or order, even at the same moment.
"""

from __future__ import annotations

import re
import secrets

from wtforms import HiddenField
from wtforms.validators import Optional, Regexp

KEY = re.compile(r"[A-Za-z0-9_.:-]{8,64}")
KEY_RULE = "an Idempotency-Key is 8 to 64 letters, digits or _ . : -"


def new_key() -> str:
    return secrets.token_urlsafe(24)


def is_valid_key(value: str | None) -> bool:
    return isinstance(value, str) and KEY.fullmatch(value) is not None


class IdempotencyKeyField(HiddenField):
    """The hidden one-time key of a payment form (a fresh one each time the form is rendered)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("default", new_key)
        kwargs.setdefault(
            "validators",
            [Optional(), Regexp(KEY.pattern + r"\Z", message="This form is damaged; reload the page.")],
        )
        super().__init__(*args, **kwargs)
