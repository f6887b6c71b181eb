"""Settings: production refuses to start unsafe."""

import pytest

from app import create_app
from config import ProductionConfig, config_for


def test_production_refuses_to_start_without_a_secret_key():
    settings = type("P", (ProductionConfig,), {"SECRET_KEY": None, "DEBUG": False})
    with pytest.raises(RuntimeError, match="SECRET_KEY is not set"):
        create_app(settings)


def test_production_refuses_to_start_in_debug_mode():
    settings = type("P", (ProductionConfig,), {"SECRET_KEY": "x" * 40, "DEBUG": True})
    with pytest.raises(RuntimeError, match="debug mode is on"):
        create_app(settings)


def test_production_starts_with_a_key_and_secure_cookies(tmp_path):
    settings = type(
        "P",
        (ProductionConfig,),
        {"SECRET_KEY": "x" * 40, "DEBUG": False, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'p.db'}"},
    )
    app = create_app(settings)
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True


def test_unknown_environment_is_named():
    with pytest.raises(RuntimeError, match="unknown APP_ENV 'staging'"):
        config_for("staging")


def test_postgres_urls_use_psycopg3(monkeypatch):
    import importlib

    import config

    monkeypatch.setenv("DATABASE_URL", "postgres://u@h/db")
    assert config._database_url("sqlite://") == "postgresql+psycopg://u@h/db"
    importlib.reload(config)
