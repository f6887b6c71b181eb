"""All models, one module per domain; importing this package registers them all."""

from app.models.accounts import User
from app.models.mail import EmailMessage

__all__ = ["User", "EmailMessage"]
