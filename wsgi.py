"""The WSGI entry point: ``gunicorn wsgi:app`` (settings from APP_ENV and the environment)."""

from app import create_app

app = create_app()
