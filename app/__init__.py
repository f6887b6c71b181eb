"""Book Commerce: the application factory."""

import logging
from pathlib import Path

from flask import Flask

from app.keys import configure_keys
from app.observability import register_observability
from app.page_serving import serve_cached_pages
from app.security import register_security
from app.urls import BookCommerce
from config import Config, config_for


def create_app(config: type[Config] | str | None = None) -> Flask:
    """Build the app: settings, extensions, blueprints, error handlers, CLI."""
    settings = config if isinstance(config, type) else config_for(config)
    settings.check()

    app = BookCommerce(
        __name__,
        template_folder="../templates",
        static_folder="../static",
        instance_path=settings.INSTANCE_PATH,
    )
    # The embedded default keeps its database, outbox and key here: a fresh clone has no instance/.
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.from_object(settings)
    for key, value in settings.derived().items():
        # A setting given explicitly on the class wins over the one derived from REDIS_URL.
        if getattr(settings, key, None) is None:
            app.config[key] = value
    configure_keys(app)

    configure_logging(app)
    register_extensions(app)
    register_input_checks(app)  # before the blueprints: their <int:...> routes use the bounded converter
    register_blueprints(app)
    serve_cached_pages(app)  # innermost: cached pages still get the security headers and request ids
    register_security(app)  # after the blueprints: it rate-limits some of their views
    register_errorhandlers(app)
    register_request_hooks(app)
    register_observability(app)
    register_commands(app)
    return app


def configure_logging(app: Flask) -> None:
    """Log lines on stderr, JSON or text (LOG_FORMAT), each with its request id; mail in the
    embedded default is logged here too."""
    from app.observability.logging import configure_log_output

    configure_log_output(app)
    app.logger.setLevel(logging.INFO)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


def register_extensions(app: Flask) -> None:
    from app import models  # noqa: F401  (models must be imported before migrations look)
    from app.accounts.sessions import configure_login
    from app.breakers import init_breakers
    from app.catalogue.book_changes import install_book_changes
    from app.clubs.club_changes import install_club_changes
    from app.contests.contest_changes import install_contest_changes
    from app.database import configure_database
    from app.extensions import cache, csrf, db, limiter, mail, migrate
    from app.models.base import include_in_migrations, render_migration_item
    from app.notifications.outbox import install_outbox

    configure_database(app)  # psycopg's settings behind PgBouncer (app/database.py)
    db.init_app(app)
    install_outbox()  # emails recorded in a transaction are sent when it commits
    install_book_changes()  # any committed change to a book moves its cached pages on
    install_club_changes()  # and to a club, its page
    install_contest_changes()  # and to a contest, its page
    migrate.init_app(
        app,
        db,
        render_as_batch=True,
        compare_type=True,
        render_item=render_migration_item,
        include_object=include_in_migrations,
    )
    csrf.init_app(app)
    init_breakers(app)  # before the cache: the Redis cache calls through the "redis" breaker
    cache.init_app(app)
    mail.init_app(app)
    limiter.init_app(app)
    configure_login(app)


def register_input_checks(app: Flask) -> None:
    from app.ids import register_id_converter
    from app.request_checks import register_request_checks

    register_id_converter(app)
    register_request_checks(app)


def register_blueprints(app: Flask) -> None:
    from app.accounts import bp as accounts_bp
    from app.addresses import bp as addresses_bp
    from app.api import init_api
    from app.cart import bp as cart_bp
    from app.catalogue import bp as catalogue_bp
    from app.clubs import bp as clubs_bp
    from app.contests import bp as contests_bp
    from app.donations import bp as donations_bp
    from app.main import bp as main_bp
    from app.notifications.web import bp as notifications_bp
    from app.orders import bp as orders_bp
    from app.pages import bp as pages_bp
    from app.payments import bp as payments_bp
    from app.seo import bp as seo_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(addresses_bp)
    app.register_blueprint(catalogue_bp)
    app.register_blueprint(cart_bp)
    app.register_blueprint(orders_bp)
    app.register_blueprint(payments_bp)
    app.register_blueprint(clubs_bp)
    app.register_blueprint(donations_bp)
    init_api(app)
    app.register_blueprint(contests_bp)
    app.register_blueprint(notifications_bp)
    app.register_blueprint(seo_bp)
    app.register_blueprint(pages_bp)


def register_errorhandlers(app: Flask) -> None:
    from app.errors import register

    register(app)


def register_request_hooks(app: Flask) -> None:
    from app import formatting, page_cache, webview
    from app.htmx import add_vary_header, refresh_flashes

    formatting.register(app)
    webview.register(app)
    page_cache.register(app)
    app.after_request(add_vary_header)
    app.after_request(refresh_flashes)


def register_commands(app: Flask) -> None:
    from app.cli import register

    register(app)
