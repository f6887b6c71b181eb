"""The WSGI entry point: ``gunicorn wsgi:app`` (settings from APP_ENV and the environment)."""

from app import create_app
from config import ConfigError

try:
    app = create_app()
except ConfigError as exc:
    # One line for the operator (gunicorn, flask CLI), not a traceback.
    raise SystemExit(str(exc)) from None
