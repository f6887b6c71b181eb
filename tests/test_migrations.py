"""The migrations at head build exactly the models' schema, on SQLite and PostgreSQL."""

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade

from app import create_app
from app.extensions import db
from app.models.base import include_in_migrations
from tests.conftest import database_is_postgres, make_config, need

MIGRATIONS = str(Path(__file__).resolve().parent.parent / "migrations")


def pending_changes(application) -> list:
    with application.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": include_in_migrations})
        return compare_metadata(context, db.metadata)


def test_migrations_match_models_on_the_test_database(app):
    # The `app` fixture built its schema with `flask db upgrade`.
    assert pending_changes(app) == []


def test_migrations_match_models_on_a_fresh_sqlite_file(tmp_path, base_settings):
    application = create_app(
        make_config(**{**base_settings, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'm.db'}"})
    )
    with application.app_context():
        upgrade(directory=MIGRATIONS)
    assert pending_changes(application) == []


def test_migrations_match_models_on_postgresql(app):
    need("PostgreSQL", database_is_postgres(app), "DATABASE_URL does not point at PostgreSQL")
    assert pending_changes(app) == []
