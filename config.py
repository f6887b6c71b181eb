"""Settings, read once from the environment.

Code reads ``current_app.config``; nothing else looks at ``os.environ``.
"""

import os
from pathlib import Path
from urllib.parse import urlsplit

BASE_DIR = Path(__file__).resolve().parent
# Writable per-installation files: the embedded default's SQLite database, mail outbox, dev secret key.
INSTANCE_DIR = Path(os.environ.get("INSTANCE_PATH") or BASE_DIR / "instance")


class ConfigError(RuntimeError):
    """Settings that must not run; the message is one line, for the operator."""


def _env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def _env_list(name: str) -> list[str] | None:
    value = os.environ.get(name)
    return [item.strip() for item in value.split(",") if item.strip()] if value else None


def _database_url(default: str) -> str:
    url = os.environ.get("DATABASE_URL") or default
    # Heroku-style URLs and plain postgresql:// both mean psycopg 3 here.
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


class Config:
    """Defaults shared by every environment (the embedded default)."""

    ENV_NAME = "base"
    # The master secret; sessions, email links and JWTs each sign with a key derived from it (app/keys.py).
    SECRET_KEY = os.environ.get("SECRET_KEY")
    # Without SECRET_KEY, make a random one in the instance folder and keep it (development only).
    SECRET_KEY_FILE: str | None = None
    INSTANCE_PATH = str(INSTANCE_DIR)
    DEBUG = False
    TESTING = False

    SQLALCHEMY_DATABASE_URI = _database_url(f"sqlite:///{INSTANCE_DIR / 'bookcommerce.db'}")
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    # DATABASE_URL names PgBouncer in transaction mode (deploy/pgbouncer.ini): consecutive
    # transactions may run on different server connections, so psycopg must not prepare statements
    # server-side (app/database.py turns that off).
    DATABASE_PGBOUNCER = _env_bool("DATABASE_PGBOUNCER")
    REDIS_URL = os.environ.get("REDIS_URL") or None
    RQ_QUEUES = ["default", "mail"]
    JOB_RETRY_INTERVALS = [10, 60, 300]

    # Mail: without MAIL_SERVER, messages go to the log and to OUTBOX_DIR as .eml files.
    MAIL_SERVER = os.environ.get("MAIL_SERVER") or None
    MAIL_PORT = _env_int("MAIL_PORT", 25)
    MAIL_USE_TLS = _env_bool("MAIL_USE_TLS")
    MAIL_USE_SSL = _env_bool("MAIL_USE_SSL")
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME") or None
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD") or None
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "Book Commerce <noreply@bookcommerce.local>")
    # Message-IDs end in this domain (unset: the sender's domain, else BASE_URL's host).
    MAIL_DOMAIN = os.environ.get("MAIL_DOMAIN") or None
    # An SMTP server that accepts the connection and then hangs: give up after this (a timeout
    # counts as a failure for the "smtp" circuit breaker).
    MAIL_TIMEOUT_SECONDS = float(os.environ.get("MAIL_TIMEOUT_SECONDS", "10"))
    # The outbox sweep (app/notifications/outbox.py): a claim older than MAIL_CLAIM_STALE_SECONDS
    # is from a dead worker; pending or failed emails older than MAIL_SWEEP_AFTER_SECONDS are
    # queued again, up to MAIL_MAX_ATTEMPTS attempts; the worker sweeps every interval.
    MAIL_CLAIM_STALE_SECONDS = _env_int("MAIL_CLAIM_STALE_SECONDS", 120)
    MAIL_SWEEP_AFTER_SECONDS = _env_int("MAIL_SWEEP_AFTER_SECONDS", 120)
    MAIL_SWEEP_INTERVAL_SECONDS = _env_int("MAIL_SWEEP_INTERVAL_SECONDS", 60)
    MAIL_MAX_ATTEMPTS = _env_int("MAIL_MAX_ATTEMPTS", 6)
    # Emails per mail job: one job, one SMTP connection, one claim for up to this many (docs/scaling.md).
    MAIL_BATCH_SIZE = _env_int("MAIL_BATCH_SIZE", 250)
    OUTBOX_DIR = os.environ.get("OUTBOX_DIR") or str(INSTANCE_DIR / "outbox")
    # Sent emails keep their bodies this many days, then a daily job blanks them (the record of
    # what was sent stays; app/notifications/retention.py, docs/operations.md).
    EMAIL_BODY_RETENTION_DAYS = _env_int("EMAIL_BODY_RETENTION_DAYS", 90)

    # The public address. Every absolute link (emails, API urls, Stripe return URLs, the web-session
    # link) is built from it, never from the request's Host (app/urls.py). Required in production.
    BASE_URL = os.environ.get("BASE_URL") or None
    # Host names the app answers to (others get a 400); unset: BASE_URL's host (see derived()).
    TRUSTED_HOSTS = _env_list("TRUSTED_HOSTS")
    # Hosts trusted besides BASE_URL's when TRUSTED_HOSTS is not given.
    LOCAL_HOSTS: tuple[str, ...] = ()

    # Payments (used from the catalogue issue on).
    STRIPE_SECRET_KEY = os.environ.get("STRIPE_SECRET_KEY") or None
    STRIPE_WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET") or None
    STRIPE_API_BASE = os.environ.get("STRIPE_API_BASE") or None  # tests point it at a local stub
    STRIPE_MAX_RETRIES = _env_int("STRIPE_MAX_RETRIES", 2)
    STRIPE_TIMEOUT_SECONDS = float(os.environ.get("STRIPE_TIMEOUT_SECONDS", "10"))
    # Stripe Tax computes the tax on the Checkout page (our own tax rates are then not charged).
    STRIPE_AUTOMATIC_TAX = _env_bool("STRIPE_AUTOMATIC_TAX")
    # Circuit breakers (app/breakers.py) around what leaves the app: after FAIL_MAX failures or
    # timeouts in a row, calls fail at once for RESET_SECONDS, then one trial call goes through.
    # With REDIS_URL, "payments" and "smtp" share their state across processes; "redis" is per process.
    BREAKER_PAYMENTS_FAIL_MAX = _env_int("BREAKER_PAYMENTS_FAIL_MAX", 5)
    BREAKER_PAYMENTS_RESET_SECONDS = float(os.environ.get("BREAKER_PAYMENTS_RESET_SECONDS", "60"))
    BREAKER_SMTP_FAIL_MAX = _env_int("BREAKER_SMTP_FAIL_MAX", 5)
    BREAKER_SMTP_RESET_SECONDS = float(os.environ.get("BREAKER_SMTP_RESET_SECONDS", "60"))
    BREAKER_REDIS_FAIL_MAX = _env_int("BREAKER_REDIS_FAIL_MAX", 3)
    BREAKER_REDIS_RESET_SECONDS = float(os.environ.get("BREAKER_REDIS_RESET_SECONDS", "10"))
    # Reading a shared breaker's state from Redis: a slow Redis must not slow every guarded call.
    BREAKER_STATE_TIMEOUT_SECONDS = float(os.environ.get("BREAKER_STATE_TIMEOUT_SECONDS", "0.25"))
    # Production without Stripe keys refuses to start unless this is set (then every page says so).
    ALLOW_SIMULATED_PAYMENTS = _env_bool("ALLOW_SIMULATED_PAYMENTS")
    # Shop prices are US dollars without tax, as US shops show them; tax is added at checkout
    # (app/pricing). Set PRICES_INCLUDE_TAX=1 for a shop whose prices already contain it (EU style).
    PRICES_INCLUDE_TAX = _env_bool("PRICES_INCLUDE_TAX")

    READING_MAX_ENTRIES_PER_DAY = _env_int("READING_MAX_ENTRIES_PER_DAY", 5)
    READING_MAX_PAGES_PER_DAY = _env_int("READING_MAX_PAGES_PER_DAY", 3000)
    READING_UNUSUAL_PAGES = _env_int("READING_UNUSUAL_PAGES", 1200)
    CONTEST_PROVISIONAL_HOURS = _env_int("CONTEST_PROVISIONAL_HOURS", 0)
    LEADERBOARD_CACHE_SECONDS = _env_int("LEADERBOARD_CACHE_SECONDS", 5)

    # Who runs the shop: the footer, order pages and receipts show it (demo values until set).
    BUSINESS_NAME = os.environ.get("BUSINESS_NAME") or "Book Commerce Ltd (demo)"
    BUSINESS_ADDRESS = os.environ.get("BUSINESS_ADDRESS") or "1 Example Street, Exampletown EX1 2MP, United Kingdom"
    BUSINESS_REGISTRATION = os.environ.get("BUSINESS_REGISTRATION") or "Company no. 00000000 · VAT GB000000000 (demo)"
    SUPPORT_EMAIL = os.environ.get("SUPPORT_EMAIL") or "support@bookcommerce.local"

    DONATION_MIN_CENTS = _env_int("DONATION_MIN_CENTS", 100)
    DONATION_MAX_CENTS = _env_int("DONATION_MAX_CENTS", 1_000_000)

    # Uploaded book covers (resized, content-hashed files); nginx serves /media/ from here in production.
    MEDIA_ROOT = os.environ.get("MEDIA_ROOT") or str(INSTANCE_DIR / "media")
    COVER_MAX_BYTES = _env_int("COVER_MAX_BYTES", 10 * 1024 * 1024)
    COVER_MAX_PIXELS = _env_int("COVER_MAX_PIXELS", 40_000_000)

    CACHE_DEFAULT_TIMEOUT = 60
    # Each cache round trip to Redis gives up after this (then the "redis" breaker counts a failure).
    CACHE_REDIS_TIMEOUT_SECONDS = float(os.environ.get("CACHE_REDIS_TIMEOUT_SECONDS", "0.5"))
    CATALOGUE_CACHE_SECONDS = 300
    PAGE_CACHE_SECONDS = 300  # whole pages for visitors not signed in (app/page_cache.py); 0 turns it off
    HOME_CACHE_SECONDS = 60  # the home page's contests and clubs: a minute behind at most
    # A club page's shared part is re-rendered when its data changes; this bounds what its
    # fingerprint does not see (a donor's or a wished-for book's new name).
    CLUB_PAGE_CACHE_SECONDS = 120
    # The signed-in reader's row and cart count, cached between changes (app/accounts/user_cache.py).
    # Unset: on with Redis or in a single process, off otherwise (a per-process cache would not
    # hear another worker's "log out everywhere"). Keep it below CACHE_DEFAULT_TIMEOUT.
    USER_CACHE_SECONDS = _env_int("USER_CACHE_SECONDS", 0) if os.environ.get("USER_CACHE_SECONDS") else None
    RATELIMIT_HEADERS_ENABLED = True
    # Redis down: count limits in this process's memory until it is back, and never turn a
    # storage error into a 500 (Flask-Limiter reads both from the first app it is bound to).
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_SWALLOW_ERRORS = True
    LOGIN_LIMIT_PER_IP = os.environ.get("LOGIN_LIMIT_PER_IP", "30 per minute;300 per hour")
    LOGIN_LIMIT_PER_ACCOUNT = os.environ.get("LOGIN_LIMIT_PER_ACCOUNT", "5 per minute;30 per hour")
    REGISTER_LIMIT_PER_IP = os.environ.get("REGISTER_LIMIT_PER_IP", "20 per hour")
    RESET_LIMIT_PER_IP = os.environ.get("RESET_LIMIT_PER_IP", "10 per hour")
    SEARCH_LIMIT_PER_IP = os.environ.get("SEARCH_LIMIT_PER_IP", "120 per minute")
    # A search counts matching books up to this many, then says "1,000+ books" (app/catalogue/search.py).
    SEARCH_COUNT_CAP = _env_int("SEARCH_COUNT_CAP", 1000)
    WEBHOOK_LIMIT = os.environ.get("WEBHOOK_LIMIT", "600 per minute")
    # A guest's order page polls every 2 s while the payment is open: room for that, not for scraping.
    GUEST_ORDER_LIMIT_PER_IP = os.environ.get("GUEST_ORDER_LIMIT_PER_IP", "120 per minute;2000 per hour")
    # Hops of reverse proxy in front of the app whose X-Forwarded-For/Proto are believed: 0 unless
    # a proxy is really there (gunicorn.conf.py and docker-compose.yml set 1 for nginx). Only the
    # last hop's values are read, so a client cannot choose its own address or scheme.
    PROXY_COUNT = _env_int("PROXY_COUNT", 0)
    # Production without REDIS_URL counts rate limits per process: allowed only for one gunicorn
    # worker (WEB_CONCURRENCY=1, the variable gunicorn.conf.py reads) and with this set on purpose.
    ALLOW_IN_MEMORY_LIMITS = _env_bool("ALLOW_IN_MEMORY_LIMITS")
    WEB_CONCURRENCY = _env_int("WEB_CONCURRENCY", 0)  # 0: gunicorn's default, several workers

    API_ACCESS_TOKEN_SECONDS = _env_int("API_ACCESS_TOKEN_SECONDS", 15 * 60)
    API_REFRESH_TOKEN_SECONDS = _env_int("API_REFRESH_TOKEN_SECONDS", 30 * 24 * 3600)
    API_WEB_SESSION_SECONDS = _env_int("API_WEB_SESSION_SECONDS", 60)

    EMAIL_VERIFY_MAX_AGE = 48 * 3600
    PASSWORD_RESET_MAX_AGE = 3600
    REMEMBER_COOKIE_DURATION = 30 * 24 * 3600
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    MAX_CONTENT_LENGTH = 2 * 1024 * 1024
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session

    # Observability: who may read /metrics (unset: only direct requests from this host), the log
    # line format (json or text; unset: json in production, text elsewhere), error reports.
    METRICS_TOKEN = os.environ.get("METRICS_TOKEN") or None
    LOG_FORMAT = os.environ.get("LOG_FORMAT") or None
    SENTRY_DSN = os.environ.get("SENTRY_DSN") or None
    SENTRY_TRACES_SAMPLE_RATE = float(os.environ.get("SENTRY_TRACES_SAMPLE_RATE") or 0)

    @classmethod
    def derived(cls) -> dict:
        """Settings that depend on others (the cache and limiter follow REDIS_URL, the trusted
        hosts follow BASE_URL)."""
        settings: dict = {
            "TRUSTED_HOSTS": _trusted_hosts(cls.BASE_URL, cls.LOCAL_HOSTS),
            "SIMULATED_PAYMENTS_BANNER": cls.ENV_NAME == "production" and not cls.STRIPE_SECRET_KEY,
        }
        shared_or_alone = cls.REDIS_URL or cls.TESTING or cls.WEB_CONCURRENCY == 1
        settings["USER_CACHE_SECONDS"] = 30 if shared_or_alone else 0
        if cls.REDIS_URL:
            return {
                **settings,
                # RedisCache that treats an unreachable Redis as a miss (app/extensions.py).
                "CACHE_TYPE": "app.extensions.ResilientRedisCache",
                "CACHE_REDIS_URL": cls.REDIS_URL,
                "RATELIMIT_STORAGE_URI": cls.REDIS_URL,
            }
        return {**settings, "CACHE_TYPE": "SimpleCache", "RATELIMIT_STORAGE_URI": "memory://"}

    @classmethod
    def check(cls) -> None:
        """Refuse settings that are unsafe for this environment (override per class)."""
        if cls.BASE_URL:
            _check_base_url(cls.BASE_URL)
        if cls.EMAIL_BODY_RETENTION_DAYS < 1:
            raise ConfigError(
                f"refusing to start: EMAIL_BODY_RETENTION_DAYS is {cls.EMAIL_BODY_RETENTION_DAYS}; give at least 1 day"
            )


class DevelopmentConfig(Config):
    ENV_NAME = "development"
    DEBUG = _env_bool("FLASK_DEBUG", False)
    # No public constant: a random key made on first run in instance/secret_key keeps sessions
    # across restarts without letting anyone who has read this file forge a session or a JWT.
    SECRET_KEY_FILE = "secret_key"
    BASE_URL = os.environ.get("BASE_URL") or "http://127.0.0.1:5000"  # `make run` sets it from PORT
    LOCAL_HOSTS = ("localhost", "127.0.0.1")
    # The in-process cache cannot hear about changes made by `flask books ...` in another
    # process; keep catalogue pages fresh within half a minute (Redis has no such lag).
    CATALOGUE_CACHE_SECONDS = _env_int("CATALOGUE_CACHE_SECONDS", 30)
    PAGE_CACHE_SECONDS = _env_int("PAGE_CACHE_SECONDS", 30)


class TestingConfig(Config):
    ENV_NAME = "testing"
    TESTING = True
    SECRET_KEY = "testing-only-not-secret-0123456789abcdef"
    SQLALCHEMY_DATABASE_URI = _database_url("sqlite://")
    WTF_CSRF_ENABLED = False
    JOB_RETRY_INTERVALS = [0, 0, 0]
    LOGIN_LIMIT_PER_IP = "20 per minute"
    LOGIN_LIMIT_PER_ACCOUNT = "5 per minute"
    REGISTER_LIMIT_PER_IP = "1000 per hour"
    RESET_LIMIT_PER_IP = "1000 per hour"
    SEARCH_LIMIT_PER_IP = "10000 per minute"
    WEBHOOK_LIMIT = "10000 per minute"
    GUEST_ORDER_LIMIT_PER_IP = "10000 per minute"
    BASE_URL = "http://localhost"
    LOCAL_HOSTS = ("localhost", "127.0.0.1")
    MAIL_SUPPRESS_SEND = False  # tests that set MAIL_SERVER talk to a real SMTP server
    # Argon2 at full strength makes the suite slow; the parameters are still Argon2id.
    ARGON2_TIME_COST = 1
    ARGON2_MEMORY_COST = 1024


class ProductionConfig(Config):
    ENV_NAME = "production"
    DEBUG = _env_bool("FLASK_DEBUG", False)
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", True)
    REMEMBER_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", True)
    PREFERRED_URL_SCHEME = "https"

    @classmethod
    def check(cls) -> None:
        if not cls.SECRET_KEY:
            raise ConfigError("refusing to start: SECRET_KEY is not set (export a long random value)")
        if len(cls.SECRET_KEY) < 32:
            raise ConfigError("refusing to start: SECRET_KEY is shorter than 32 characters")
        if cls.DEBUG:
            raise ConfigError("refusing to start: debug mode is on in production (unset FLASK_DEBUG)")
        if not cls.BASE_URL:
            raise ConfigError(
                "refusing to start: BASE_URL is not set (the public address, e.g. https://books.example.com)"
            )
        super().check()
        if not (cls.STRIPE_SECRET_KEY and cls.STRIPE_WEBHOOK_SECRET) and not cls.ALLOW_SIMULATED_PAYMENTS:
            raise ConfigError(
                "refusing to start: STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET are required in production"
                " (or set ALLOW_SIMULATED_PAYMENTS=1 to take no real payments)"
            )
        if not cls.REDIS_URL and not (cls.ALLOW_IN_MEMORY_LIMITS and cls.WEB_CONCURRENCY == 1):
            raise ConfigError(
                "refusing to start: REDIS_URL is required in production (rate limits are per process"
                " without it; for a single worker set WEB_CONCURRENCY=1 and ALLOW_IN_MEMORY_LIMITS=1)"
            )


def _check_base_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ConfigError(
            f"refusing to start: BASE_URL {url!r} is not an http(s) address like https://books.example.com"
        )


def _trusted_hosts(base_url: str | None, local_hosts: tuple[str, ...]) -> list[str] | None:
    """BASE_URL's host name plus ``local_hosts``; None (any host) only when nothing is known."""
    hosts = [urlsplit(base_url).hostname] if base_url else []
    hosts += [host for host in local_hosts if host not in hosts]
    return [host for host in hosts if host] or None


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_for(name: str | None = None) -> type[Config]:
    """The settings class named by ``name`` or by ``APP_ENV`` (default: development)."""
    name = name or os.environ.get("APP_ENV", "development")
    try:
        return CONFIGS[name]
    except KeyError:
        raise ConfigError(f"unknown APP_ENV {name!r}; use one of {', '.join(CONFIGS)}") from None
