"""Settings come from the environment, then from a local `.env` file; a bad value stops start-up
with a clear message."""

import os
import re
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
_ENV_LINE = re.compile(r"(?P<key>[A-Za-z_][A-Za-z0-9_]*)\s*=\s*(?P<value>.*)")


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines; blank lines and `#` comments are skipped, one pair of quotes is removed."""
    values: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        match = _ENV_LINE.fullmatch(text)
        if match is None:
            raise ImproperlyConfigured(f"{path}, line {number}: expected KEY=VALUE, got {text!r}")
        key, value = match["key"], match["value"].strip()
        if key in values:
            raise ImproperlyConfigured(f"{path}, line {number}: {key} is set twice")
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key] = value
    return values


def _settings_source() -> dict[str, str]:
    # KPITRACK_ENV_FILE names another file, or is empty to read none (`make test` and CI do
    # that, so a developer's .env cannot change what they test).
    name = os.environ.get("KPITRACK_ENV_FILE")
    if name is None:
        path = BASE_DIR / ".env"
        file_values = read_env_file(path) if path.is_file() else {}
    elif name == "":
        file_values = {}
    else:
        path = Path(name)
        if not path.is_file():
            raise ImproperlyConfigured(f"KPITRACK_ENV_FILE={name!r} is not a file")
        file_values = read_env_file(path)
    # The real environment wins over the file.
    return {**file_values, **os.environ}


# Lower case: not a setting, so the debug page never lists the environment.
_env = _settings_source()


def env_bool(name: str, default: bool) -> bool:
    raw = _env.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name}={raw!r} is not a boolean: use one of 1/0, true/false, yes/no, on/off"
    )


def env_list(name: str) -> list[str] | None:
    raw = _env.get(name)
    if raw is None:
        return None
    items = [item.strip() for item in raw.split(",") if item.strip()]
    if not items:
        raise ImproperlyConfigured(f"{name} is set but names no host")
    return items


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = _env.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "insecure-development-key-only-used-with-DEBUG-on"
elif len(SECRET_KEY) < 32 and not DEBUG:
    raise ImproperlyConfigured("SECRET_KEY must be at least 32 characters long")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS")
if ALLOWED_HOSTS is None:
    if not DEBUG:
        raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DEBUG is off (comma-separated)")
    ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"]

_DEFAULT_DB = f"sqlite:///{BASE_DIR / 'var' / 'kpitrack.sqlite3'}"
_db_url = _env.get("DATABASE_URL", _DEFAULT_DB)
try:
    _db = dj_database_url.parse(_db_url, conn_max_age=60)
except (ValueError, KeyError) as exc:
    raise ImproperlyConfigured(f"DATABASE_URL={_db_url!r} cannot be used: {exc}") from exc
if _db["ENGINE"] not in ("django.db.backends.sqlite3", "django.db.backends.postgresql"):
    raise ImproperlyConfigured("DATABASE_URL must be a sqlite:// or postgres:// URL")
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # Every transaction takes the write lock when it begins (BEGIN IMMEDIATE), so a second writer
    # waits up to the busy timeout for the first to commit; with SQLite's default deferred
    # transactions, two that read before writing deadlock and one fails "database is locked".
    _db.setdefault("OPTIONS", {}).update(transaction_mode="IMMEDIATE", timeout=20)
    _db["CONN_MAX_AGE"] = 0
DATABASES = {"default": _db}

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    # WhiteNoise serves static files under runserver too, so development matches deployment.
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_tables2",
    "simple_history",
    # django-ninja's templates and vendored Swagger UI files, so the API's docs page loads
    # nothing from a CDN.
    "ninja",
    "kpitrack",
    "budget",
    "performance",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # After the language is chosen, so the refusal is in the user's language.
    "kpitrack.middleware.RejectUnusableCharactersMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "kpitrack.urls"
WSGI_APPLICATION = "kpitrack.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Traditional Chinese first, English second.
LANGUAGE_CODE = "zh-hant"
LANGUAGES = [("zh-hant", "繁體中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "Asia/Taipei"
USE_TZ = True

STATIC_URL = "static/"
# `make run` collects into STATIC_ROOT, which WhiteNoise serves with DEBUG off; with DEBUG on it
# serves straight from the app and STATICFILES_DIRS folders (its finders), reloading edits.
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Compressed copies (gzip, brotli) at collectstatic; no hashed names, so templates render
    # the same whether or not collectstatic has run (tests, CI).
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

SITE_TITLE = _("kpitrack 績效管理")


def env_int(name: str, default: int, *, minimum: int) -> int:
    raw = _env.get(name)
    if raw is None:
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name}={raw!r} must be at least {minimum}")
    return value


# Uploaded evidence lives outside every static folder: WhiteNoise must never serve it, only the
# permission-checked evidence view does.
MEDIA_ROOT = Path(_env.get("MEDIA_ROOT") or BASE_DIR / "var" / "media").resolve()
MEDIA_URL = "/media/"  # never routed: files are served through the evidence view only
for _static in (STATIC_ROOT, *STATICFILES_DIRS):
    _static = Path(_static).resolve()
    if MEDIA_ROOT == _static or _static in MEDIA_ROOT.parents or MEDIA_ROOT in _static.parents:
        raise ImproperlyConfigured(f"MEDIA_ROOT={str(MEDIA_ROOT)!r} overlaps the static folder")
EVIDENCE_MAX_BYTES = env_int("EVIDENCE_MAX_BYTES", 10 * 1024 * 1024, minimum=1)

# Reminders (manage.py send_reminders) print to the console unless SMTP is configured.
EMAIL_HOST = _env.get("EMAIL_HOST", "")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = env_int("EMAIL_PORT", 587, minimum=1)
    EMAIL_HOST_USER = _env.get("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = _env.get("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = _env.get("DEFAULT_FROM_EMAIL", "kpitrack@localhost")

# --- Running as a service (issue 15: make serve, connection pool, shared cache, health) ---------
# On PostgreSQL each process takes its connections from Django's own psycopg pool: at most
# DB_POOL_MAX_SIZE per process, whatever the number of concurrent requests (runserver's threads
# each kept one open before, until PostgreSQL's max_connections refused every client), shrinking
# back to DB_POOL_MIN_SIZE when idle. A gunicorn sync worker serves one request at a time, so it
# uses one connection: WEB_CONCURRENCY workers hold at most WEB_CONCURRENCY connections busy, and
# WEB_CONCURRENCY × DB_POOL_MIN_SIZE idle. DB_POOL_MAX_SIZE=0 turns the pool off (e.g. behind
# PgBouncer): each request then opens and closes its own connection.
if _db["ENGINE"] == "django.db.backends.postgresql":
    _db["CONN_MAX_AGE"] = 0  # the pool keeps connections; Django must not keep them as well
    # An unreachable host answers 503 after this many seconds instead of hanging a worker.
    _db.setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env_int("DB_CONNECT_TIMEOUT", 5, minimum=1)
    )
    _pool_max = env_int("DB_POOL_MAX_SIZE", 4, minimum=0)
    if _pool_max:
        _pool_min = env_int("DB_POOL_MIN_SIZE", 1, minimum=0)
        if _pool_min > _pool_max:
            raise ImproperlyConfigured(
                f"DB_POOL_MIN_SIZE={_pool_min} is larger than DB_POOL_MAX_SIZE={_pool_max}"
            )
        # The pool tests a connection before handing it out, so one broken while the database
        # was away is replaced instead of failing the first request after it returns.
        _db["CONN_HEALTH_CHECKS"] = True
        _pool_timeout = env_int("DB_POOL_TIMEOUT", 5, minimum=1)
        _db["OPTIONS"]["pool"] = {
            "min_size": _pool_min,
            "max_size": _pool_max,
            # How long a request waits for a connection before it answers 503.
            "timeout": _pool_timeout,
            # Gives up reconnecting after this long and starts afresh with the next request:
            # psycopg_pool's default (5 minutes of doubling delays) would leave the site down
            # for minutes after the database is back.
            "reconnect_timeout": _pool_timeout,
            # Connections above the minimum left idle this long are closed (one per interval).
            "max_idle": env_int("DB_POOL_MAX_IDLE", 60, minimum=1),
        }

# The cache every app server shares (throttling counters, the readiness check's probe): Redis
# when REDIS_URL is set. Without it each process keeps its own memory cache, which is fine for
# one development server; kpitrack itself stores nothing there that another process must see.
REDIS_URL = _env.get("REDIS_URL", "")
if REDIS_URL:
    if not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
        raise ImproperlyConfigured("REDIS_URL must be a redis://, rediss:// or unix:// URL")
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# While the database cannot be reached, pages and the API answer 503 with this Retry-After.
DATABASE_RETRY_AFTER = env_int("DATABASE_RETRY_AFTER", 30, minimum=1)
# Outermost but for the security headers and static files: turns a database outage met by a view
# (or by the session and user it reads) into 503 (kpitrack.outage).
MIDDLEWARE.insert(
    MIDDLEWARE.index("whitenoise.middleware.WhiteNoiseMiddleware") + 1,
    "kpitrack.middleware.DatabaseOutageMiddleware",
)
# A load balancer or service manager probes the app server itself, over plain HTTP: the health
# addresses answer it there even when SECURE_SSL_REDIRECT sends every other request to HTTPS.
SECURE_REDIRECT_EXEMPT = [r"^healthz/$", r"^readyz/$"]
