"""Settings: production refuses to start unsafe."""

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from app import create_app
from config import ConfigError, ProductionConfig, config_for

ROOT = Path(__file__).resolve().parents[1]


def production(tmp_path, database: str | None = None, **overrides):
    """A production settings class that starts, changed by ``overrides``."""
    settings = {
        "SECRET_KEY": "x" * 40,
        "DEBUG": False,
        "BASE_URL": "https://books.example.com",
        "STRIPE_SECRET_KEY": "sk_live_x",
        "STRIPE_WEBHOOK_SECRET": "whsec_x",
        "ALLOW_SIMULATED_PAYMENTS": False,
        "REDIS_URL": "redis://127.0.0.1:6379/1",
        "ALLOW_IN_MEMORY_LIMITS": False,
        "WEB_CONCURRENCY": 0,
        # Built, never connected to: the limiter and cache stay in memory like every test app's.
        "RATELIMIT_STORAGE_URI": "memory://",
        "CACHE_TYPE": "SimpleCache",
        "SQLALCHEMY_DATABASE_URI": database or f"sqlite:///{tmp_path / 'p.db'}",
        "INSTANCE_PATH": str(tmp_path / "instance"),
        **overrides,
    }
    return type("P", (ProductionConfig,), settings)


def test_production_refuses_to_start_without_a_secret_key():
    settings = type("P", (ProductionConfig,), {"SECRET_KEY": None, "DEBUG": False})
    with pytest.raises(RuntimeError, match="SECRET_KEY is not set"):
        create_app(settings)


def test_production_refuses_to_start_in_debug_mode():
    settings = type("P", (ProductionConfig,), {"SECRET_KEY": "x" * 40, "DEBUG": True})
    with pytest.raises(RuntimeError, match="debug mode is on"):
        create_app(settings)


def test_production_starts_with_a_key_and_secure_cookies(tmp_path):
    app = create_app(production(tmp_path))
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["TRUSTED_HOSTS"] == ["books.example.com"]  # no localhost in production


@pytest.mark.parametrize("base_url", [None, "", "books.example.com", "ftp://books.example.com"])
def test_production_refuses_to_start_without_a_public_address(tmp_path, base_url):
    with pytest.raises(ConfigError, match="BASE_URL"):
        create_app(production(tmp_path, BASE_URL=base_url))


@pytest.mark.parametrize(
    "missing",
    [
        {"STRIPE_SECRET_KEY": None},
        {"STRIPE_WEBHOOK_SECRET": None},
        {"STRIPE_SECRET_KEY": None, "STRIPE_WEBHOOK_SECRET": None},
    ],
)
def test_production_refuses_to_take_simulated_payments_by_accident(tmp_path, missing):
    with pytest.raises(ConfigError, match="STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET are required"):
        create_app(production(tmp_path, **missing))


def test_simulated_payments_allowed_on_purpose_say_so_on_every_page(app, base_settings, tmp_path):
    demo = create_app(
        production(
            tmp_path,
            database=base_settings["SQLALCHEMY_DATABASE_URI"],
            STRIPE_SECRET_KEY=None,
            STRIPE_WEBHOOK_SECRET=None,
            ALLOW_SIMULATED_PAYMENTS=True,
        )
    )
    client = demo.test_client()
    for path in ("/", "/books", "/auth/login", "/no-such-page"):
        page = client.get(path, base_url="https://books.example.com").get_data(as_text=True)
        assert 'aria-label="Payments notice"' in page and "Payments are simulated." in page, path
    # With Stripe configured (and in development and tests) there is no banner.
    real = create_app(production(tmp_path, database=base_settings["SQLALCHEMY_DATABASE_URI"]))
    assert "Payments are simulated" not in real.test_client().get("/", base_url="https://books.example.com").get_data(
        as_text=True
    )
    assert "Payments are simulated" not in app.test_client().get("/").get_data(as_text=True)


@pytest.mark.parametrize(
    "settings",
    [
        {},
        {"WEB_CONCURRENCY": 1},  # one worker, but nobody said in-memory limits were meant
        {"ALLOW_IN_MEMORY_LIMITS": True},  # said so, but gunicorn would start several workers
        {"ALLOW_IN_MEMORY_LIMITS": True, "WEB_CONCURRENCY": 4},
    ],
)
def test_production_refuses_per_worker_rate_limits(tmp_path, settings):
    with pytest.raises(ConfigError, match="REDIS_URL is required in production"):
        create_app(production(tmp_path, REDIS_URL=None, **settings))


def test_one_worker_may_keep_its_limits_in_memory_on_purpose(tmp_path):
    app = create_app(production(tmp_path, REDIS_URL=None, ALLOW_IN_MEMORY_LIMITS=True, WEB_CONCURRENCY=1))
    assert app.config["RATELIMIT_STORAGE_URI"] == "memory://"


def test_gunicorn_refuses_several_workers_without_redis(monkeypatch):
    """`gunicorn -w 4` bypasses WEB_CONCURRENCY: gunicorn.conf.py checks the real worker count."""
    hooks: dict = {}
    exec(compile((ROOT / "gunicorn.conf.py").read_text(), "gunicorn.conf.py", "exec"), hooks)
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.delenv("REDIS_URL", raising=False)
    with pytest.raises(SystemExit, match="4 workers without REDIS_URL"):
        hooks["on_starting"](SimpleNamespace(cfg=SimpleNamespace(workers=4)))
    hooks["on_starting"](SimpleNamespace(cfg=SimpleNamespace(workers=1)))
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    hooks["on_starting"](SimpleNamespace(cfg=SimpleNamespace(workers=4)))


def test_the_refusal_is_one_line_for_the_operator(tmp_path):
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("STRIPE_", "REDIS_", "ALLOW_", "BASE_URL", "DATABASE_URL"))
    }
    env.update(APP_ENV="production", SECRET_KEY="y" * 40, BASE_URL="https://books.example.com", FLASK_DEBUG="")
    env.update(INSTANCE_PATH=str(tmp_path / "instance"))
    result = subprocess.run([sys.executable, "-c", "import wsgi"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "refusing to start: STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET are required in production"
        " (or set ALLOW_SIMULATED_PAYMENTS=1 to take no real payments)"
    ]


def test_unknown_environment_is_named():
    with pytest.raises(ConfigError, match="unknown APP_ENV 'staging'"):
        config_for("staging")


def test_postgres_urls_use_psycopg3(monkeypatch):
    import importlib

    import config

    monkeypatch.setenv("DATABASE_URL", "postgres://u@h/db")
    assert config._database_url("sqlite://") == "postgresql+psycopg://u@h/db"
    importlib.reload(config)
