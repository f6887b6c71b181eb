"""Flask extensions, created once and unbound; ``create_app`` binds them."""

import logging

from flask_caching import Cache
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
    until Redis answers again. Short socket timeouts keep a hung Redis from holding requests.
    """

    @classmethod
    def factory(cls, app, config, args, kwargs):
        cache = super().factory(app, config, args, kwargs)
        for client in {id(c): c for c in (cache._write_client, cache._read_client)}.values():
            client.connection_pool.connection_kwargs.update(socket_connect_timeout=1, socket_timeout=1)
        return cache

    def _degraded(self, operation: str, exc: RedisError, default):
        log.warning("cache %s skipped, Redis unavailable: %s", operation, exc)
        return default

    def get(self, key):
        try:
            return super().get(key)
        except RedisError as exc:
            return self._degraded("get", exc, None)

    def get_many(self, *keys):
        try:
            return super().get_many(*keys)
        except RedisError as exc:
            return self._degraded("get_many", exc, [None] * len(keys))

    def has(self, key):
        try:
            return super().has(key)
        except RedisError as exc:
            return self._degraded("has", exc, False)

    def set(self, key, value, timeout=None):
        try:
            return super().set(key, value, timeout)
        except RedisError as exc:
            return self._degraded("set", exc, False)

    def add(self, key, value, timeout=None):
        try:
            return super().add(key, value, timeout)
        except RedisError as exc:
            return self._degraded("add", exc, False)

    def set_many(self, mapping, timeout=None):
        try:
            return super().set_many(mapping, timeout)
        except RedisError as exc:
            return self._degraded("set_many", exc, [])

    def delete(self, key):
        try:
            return super().delete(key)
        except RedisError as exc:
            return self._degraded("delete", exc, False)

    def delete_many(self, *keys):
        try:
            return super().delete_many(*keys)
        except RedisError as exc:
            return self._degraded("delete_many", exc, [])

    def inc(self, key, delta=1):
        try:
            return super().inc(key, delta)
        except RedisError as exc:
            return self._degraded("inc", exc, None)

    def dec(self, key, delta=1):
        try:
            return super().dec(key, delta)
        except RedisError as exc:
            return self._degraded("dec", exc, None)

    def clear(self):
        try:
            return super().clear()
        except RedisError as exc:
            return self._degraded("clear", exc, False)


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
cache = Cache()
mail = Mail()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
