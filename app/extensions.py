"""Flask extensions, created once and unbound; ``create_app`` binds them."""

import logging

from flask import current_app
from flask_caching import Cache as FlaskCache
from flask_caching.backends.rediscache import RedisCache
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_mail import Mail
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from redis.exceptions import RedisError
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

log = logging.getLogger(__name__)


class ResilientRedisCache(RedisCache):
    """Flask-Caching's RedisCache for which an unreachable Redis is a cache miss, not a 500.

    Reads return "not cached", writes report failure; pages are rendered from the database
    until Redis answers again. Short socket timeouts (CACHE_REDIS_TIMEOUT_SECONDS) keep a hung
    Redis from holding a request for long, and the "redis" circuit breaker (app/breakers.py) from
    holding the next ones at all: while it is open the cache is not asked, every read is a miss.
    """

    @classmethod
    def factory(cls, app, config, args, kwargs):
        cache = super().factory(app, config, args, kwargs)
        cache._app = app  # its breakers, also outside an app context (app/page_serving.py)
        timeout = app.config["CACHE_REDIS_TIMEOUT_SECONDS"]
        for client in {id(c): c for c in (cache._write_client, cache._read_client)}.values():
            client.connection_pool.connection_kwargs.update(socket_connect_timeout=timeout, socket_timeout=timeout)
        return cache

    def _or_else(self, default, operation: str, *args):
        """RedisCache's ``operation(*args)`` through the "redis" breaker; when Redis cannot be
        reached (or the breaker is open), a warning and ``default`` (a miss for reads, a failure
        for writes)."""
        from app.breakers import BreakerOpen, breakers

        try:
            return breakers(getattr(self, "_app", None)).get("redis").call(getattr(super(), operation), *args)
        except BreakerOpen:
            log.debug("cache %s skipped: the redis circuit breaker is open", operation)
            return default
        except RedisError as exc:
            log.warning("cache %s skipped, Redis unavailable: %s", operation, exc)
            return default

    def get(self, key):
        return self._or_else(None, "get", key)

    def get_many(self, *keys):
        return self._or_else([None] * len(keys), "get_many", *keys)

    def has(self, key):
        return self._or_else(False, "has", key)

    def set(self, key, value, timeout=None):
        return self._or_else(False, "set", key, value, timeout)

    def add(self, key, value, timeout=None):
        return self._or_else(False, "add", key, value, timeout)

    def set_many(self, mapping, timeout=None):
        return self._or_else([], "set_many", mapping, timeout)

    def delete(self, key):
        return self._or_else(False, "delete", key)

    def delete_many(self, *keys):
        return self._or_else([], "delete_many", *keys)

    def inc(self, key, delta=1):
        return self._or_else(None, "inc", key, delta)

    def dec(self, key, delta=1):
        return self._or_else(None, "dec", key, delta)

    def inc_many(self, keys) -> list | None:  # noqa: ANN001 - any iterable of keys
        """``inc`` of every key in one round trip (a pipeline, not a transaction); None when
        Redis cannot be reached."""
        try:
            pipeline = self._write_client.pipeline(transaction=False)
            for key in keys:
                pipeline.incr(f"{self._get_prefix()}{key}")
            return pipeline.execute()
        except RedisError as exc:
            log.warning("cache inc_many skipped, Redis unavailable: %s", exc)
            return None

    def clear(self):
        return self._or_else(False, "clear")


class Base(DeclarativeBase):
    # Named constraints keep migrations identical on SQLite and PostgreSQL.
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()


class Cache(FlaskCache):
    """Flask-Caching's cache; ``clear()`` also forgets the entries each process keeps in memory
    in front of it (app/catalogue/caching.py)."""

    def clear(self) -> bool:
        current_app.extensions.pop("versioned_entries", None)
        return super().clear()


cache = Cache()
mail = Mail()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
