"""Settings come from the environment, then from a local `.env` file; a bad value stops start-up
with a clear message."""

import os
import re
from datetime import timedelta
from email.utils import getaddresses
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.validators import validate_email
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


# --- Security: secrets from files (issue 15) --------------------------------------------------
# A secret may come from a file instead (Docker/systemd credentials, a mounted secret): NAME_FILE
# names it. Only the names listed here, so that a variable that merely ends in _FILE (such as
# KPITRACK_ENV_FILE) is never read as one.
SECRET_FILE_VARIABLES = (
    "SECRET_KEY",
    "DATABASE_URL",
    "EMAIL_HOST_PASSWORD",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
)


def read_secret_file(name: str, path: str) -> str:
    """The file's text less one trailing newline (what `echo` and editors leave)."""
    if not path.strip():
        raise ImproperlyConfigured(f"{name}_FILE is set but names no file")
    try:
        # Bytes, not text mode: the value exactly as stored, no newline translated.
        text = Path(path).read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise ImproperlyConfigured(f"{name}_FILE={path!r} cannot be read: {reason}") from None
    if text.endswith("\r\n"):
        text = text[:-2]
    elif text.endswith("\n"):
        text = text[:-1]
    if not text:
        raise ImproperlyConfigured(f"{name}_FILE={path!r} is empty")
    return text


for _name in SECRET_FILE_VARIABLES:
    if f"{_name}_FILE" in _env:
        if _name in _env:
            raise ImproperlyConfigured(f"{_name} and {_name}_FILE are both set: set only one")
        _env[_name] = read_secret_file(_name, _env[f"{_name}_FILE"])


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

# --- PostgreSQL without JIT (issue 16: a ministry at scale) ---
# The dashboards' queries are short; at 200 agencies PostgreSQL's JIT spent 1.4-1.8 s compiling
# the overview's attention list, a query that runs in 99 ms without it (docs/benchmarks.md).
# Appended to any `options` DATABASE_URL already gives.
if _db["ENGINE"] == "django.db.backends.postgresql":
    _pg_options = _db.setdefault("OPTIONS", {})
    _pg_options["options"] = f"{_pg_options.get('options', '')} -c jit=off".strip()

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    # WhiteNoise serves static files under runserver too, so development matches deployment.
    "whitenoise.runserver_nostatic",
    "kpitrack.staticfiles.StaticFiles",  # django.contrib.staticfiles, leaving out unused files
    "django_tables2",
    "simple_history",
    # django-ninja's templates and vendored Swagger UI files, so the API's docs page loads
    # nothing from a CDN.
    "ninja",
    # The Content-Security-Policy header (see the security block at the end); its app adds the
    # checks of its settings.
    "csp",
    "kpitrack",
    "budget",
    "performance",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Security headers second only to SecurityMiddleware, so every answer of ours carries them,
    # the 400 of the middleware below included.
    "csp.middleware.CSPMiddleware",
    "kpitrack.middleware.PermissionsPolicyMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Inside SessionMiddleware: marks the session for saving before SessionMiddleware saves it.
    "kpitrack.sessions.SessionIdleMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # After the language is chosen, so the refusal is in the user's language.
    "kpitrack.middleware.RejectUnusableCharactersMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
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
                "performance.notification_views.notifications",  # the header's bell (issue 17)
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

# --- Stored files: file system or object storage (issue 16) ------------------------------------
# Evidence, rendered exports and workbook uploads waiting for their confirm all go through
# STORAGES["default"]. `filesystem` (the default) keeps them under MEDIA_ROOT, which every app
# server and worker must then share (one machine, or a network mount). `s3` keeps them in an
# S3-compatible bucket (MinIO or Ceph on premises, or a cloud one) through django-storages, so app
# servers on different machines need no shared disk. Objects stay private: kpitrack never hands
# out their URLs, every download goes through its own permission checks.
STORAGE_BACKEND = (_env.get("STORAGE_BACKEND") or "filesystem").strip().lower()
if STORAGE_BACKEND == "s3":
    try:
        import storages.backends.s3  # noqa: F401
    except ImportError:
        raise ImproperlyConfigured(
            "STORAGE_BACKEND=s3 needs django-storages[s3] (install requirements.txt)"
        ) from None
    _bucket = _env.get("AWS_STORAGE_BUCKET_NAME", "").strip()
    if not _bucket:
        raise ImproperlyConfigured("STORAGE_BACKEND=s3 needs AWS_STORAGE_BUCKET_NAME")
    _endpoint = _env.get("AWS_S3_ENDPOINT_URL", "").strip() or None
    if _endpoint and not re.match(r"^https?://[^/\s]+", _endpoint):
        raise ImproperlyConfigured(
            f"AWS_S3_ENDPOINT_URL={_endpoint!r} must be an http:// or https:// address"
        )
    _key_id = _env.get("AWS_ACCESS_KEY_ID", "").strip() or None
    _secret = _env.get("AWS_SECRET_ACCESS_KEY", "").strip() or None
    if bool(_key_id) != bool(_secret):
        # Neither: boto3 finds its own (an instance role, ~/.aws); one alone is a mistake.
        raise ImproperlyConfigured(
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together (or neither)"
        )
    _addressing = (_env.get("AWS_S3_ADDRESSING_STYLE") or "").strip().lower() or None
    if _addressing not in (None, "auto", "path", "virtual"):
        raise ImproperlyConfigured(
            f"AWS_S3_ADDRESSING_STYLE={_addressing!r} must be auto, path or virtual"
        )
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": _bucket,
            "endpoint_url": _endpoint,
            "region_name": _env.get("AWS_S3_REGION_NAME", "").strip() or None,
            "access_key": _key_id,
            "secret_key": _secret,
            "location": _env.get("AWS_LOCATION", "").strip().strip("/"),
            "addressing_style": _addressing,
            # No ACL is sent: objects get the bucket's own (private) one, never public-read.
            "default_acl": None,
            # Like the file system: a second file of the same name gets a new name, never
            # replaces the first (evidence of two results must not overwrite each other).
            "file_overwrite": False,
        },
    }
elif STORAGE_BACKEND != "filesystem":
    raise ImproperlyConfigured(
        f"STORAGE_BACKEND={STORAGE_BACKEND!r} must be filesystem (the default) or s3"
    )

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

# --- Notifications (issue 17; README "Notifications and the completion board") ---------------
# How many days before the entry deadline the units are reminded (manage.py send_reminders).
REMIND_DAYS_BEFORE = env_int("REMIND_DAYS_BEFORE", 3, minimum=0)
# The site's address as e-mails link to it (https://kpi.example.gov.tw); empty: paths only.
SITE_URL = _env.get("SITE_URL", "").strip()
if SITE_URL and not re.fullmatch(r"https?://[^\s/]+(/\S*)?", SITE_URL):
    raise ImproperlyConfigured(f"SITE_URL={SITE_URL!r} must be an http:// or https:// address")

# --- Logs: knowing what happened (issue 15; docs/logging.md) ------------------------------------
# Every record goes to standard error with the id of the request it belongs to: one JSON object a
# line for a log collector, or plain text for a person at a terminal. Server errors also mail
# ADMINS and reach Sentry when those are set. Security events: logger "kpitrack.security".
LOG_FORMAT = _env.get("LOG_FORMAT", "text" if DEBUG else "json").strip().lower()
if LOG_FORMAT not in ("json", "text"):
    raise ImproperlyConfigured(f"LOG_FORMAT={_env['LOG_FORMAT']!r} must be json or text")
LOG_LEVEL = _env.get("LOG_LEVEL", "INFO").strip().upper()
if LOG_LEVEL not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
    raise ImproperlyConfigured(
        f"LOG_LEVEL={_env['LOG_LEVEL']!r} must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL"
    )


def env_admins(name: str) -> list[tuple[str, str]]:
    """`Name <address>, address, …` as Django's ADMINS: (name, address) pairs."""
    raw = _env.get(name, "").strip()
    if not raw:
        return []
    admins = []
    for display, address in getaddresses([raw]):
        try:
            validate_email(address)
        except ValidationError:
            raise ImproperlyConfigured(
                f"{name}={raw!r} is not a comma-separated list of e-mail addresses "
                "(`Name <a@example.org>` or `a@example.org`)"
            ) from None
        admins.append((display or address, address))
    return admins


ADMINS = env_admins("ADMINS")
SERVER_EMAIL = _env.get("SERVER_EMAIL", DEFAULT_FROM_EMAIL)  # the sender of error mails
EMAIL_SUBJECT_PREFIX = "[kpitrack] "

MIDDLEWARE.insert(0, "kpitrack.logs.RequestIdMiddleware")  # first: all after it has the id
AUTH_PASSWORD_VALIDATORS.append({"NAME": "kpitrack.logs.PasswordChangeLog"})

LOGGING_CONFIG = "kpitrack.core.logs.configure"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "kpitrack.core.logs.RequestIdFilter"},
        "require_debug_false": {"()": "django.utils.log.RequireDebugFalse"},
    },
    "formatters": {
        "json": {"()": "kpitrack.core.logs.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stderr",
            "filters": ["request_id"],
            "formatter": LOG_FORMAT,
        },
    },
    # LOG_LEVEL is kpitrack's and Django's; other libraries speak up from warnings on (WeasyPrint
    # and fontTools narrate every PDF at INFO).
    "root": {
        "handlers": ["stderr"],
        "level": LOG_LEVEL if LOG_LEVEL in ("ERROR", "CRITICAL") else "WARNING",
    },
    # Django's loggers print through the root handler, in this format, not their own handlers.
    "loggers": {
        "kpitrack": {"level": LOG_LEVEL},
        "django": {"handlers": [], "level": LOG_LEVEL},
        "django.server": {"handlers": [], "level": LOG_LEVEL, "propagate": True},
    },
}
if ADMINS:
    # A server error (page or API) mails its traceback; not with DEBUG on, as Django's default.
    LOGGING["handlers"]["mail_admins"] = {
        "class": "django.utils.log.AdminEmailHandler",
        "level": "ERROR",
        "filters": ["require_debug_false", "request_id"],
        "formatter": "text",  # the mail's first line names the request id
    }
    LOGGING["loggers"]["django.request"] = {"handlers": ["mail_admins"], "propagate": True}

# Lower case: not a setting, so no error mail or debug page prints the project's key.
_sentry_dsn = _env.get("SENTRY_DSN", "").strip()
SENTRY_ENABLED = bool(_sentry_dsn)
if _sentry_dsn:
    try:
        import sentry_sdk
        from sentry_sdk.integrations.django import DjangoIntegration
        from sentry_sdk.integrations.logging import ignore_logger
        from sentry_sdk.utils import BadDsn, Dsn
    except ImportError:
        raise ImproperlyConfigured("SENTRY_DSN is set but sentry-sdk is not installed") from None
    try:
        Dsn(_sentry_dsn)
    except BadDsn as exc:
        # The DSN holds the project's key: named, not printed.
        raise ImproperlyConfigured(
            f"SENTRY_DSN is not a Sentry DSN (https://KEY@HOST/PROJECT): {exc}"
        ) from None
    sentry_sdk.init(
        dsn=_sentry_dsn,
        integrations=[DjangoIntegration()],
        send_default_pii=False,  # no user, address, cookie or body leaves the site
        environment=_env.get("SENTRY_ENVIRONMENT", "production"),
        release=_env.get("SENTRY_RELEASE") or None,
    )
    # Security events name users and addresses: they stay in the site's own log.
    ignore_logger("kpitrack.security")

# Deploy (docs/deploying.md): evidence files sent by the front proxy. When set, the evidence view
# checks the user's rights as always, then answers with an empty body and
# `X-Accel-Redirect: <this prefix><the file's path under MEDIA_ROOT>`, and nginx sends the file
# from an `internal` location (deploy/nginx/kpitrack.conf); the app server's worker is free at
# once. Unset (the default): the view streams the file itself.
EVIDENCE_ACCEL_REDIRECT = _env.get("EVIDENCE_ACCEL_REDIRECT", "")
if EVIDENCE_ACCEL_REDIRECT and not re.fullmatch(
    r"(/[A-Za-z0-9_-][A-Za-z0-9._-]*)+/", EVIDENCE_ACCEL_REDIRECT
):
    raise ImproperlyConfigured(
        f"EVIDENCE_ACCEL_REDIRECT={EVIDENCE_ACCEL_REDIRECT!r} must be a path that begins and ends "
        "with / (letters, digits, . _ -), e.g. /protected-evidence/"
    )
if EVIDENCE_ACCEL_REDIRECT and STORAGE_BACKEND != "filesystem":
    # nginx sends a file from MEDIA_ROOT; in object storage there is none for it to send.
    raise ImproperlyConfigured("EVIDENCE_ACCEL_REDIRECT needs STORAGE_BACKEND=filesystem")
# --- Sign-in throttling (django-axes) and API tokens ---------------------------------------------
# After AXES_FAILURE_LIMIT failed sign-ins for one user name from one address, that pair waits
# AXES_COOLOFF_MINUTES (counted from its last failure); a bad API token counts against its
# address the same way (kpitrack/tokens.py). Failures are rows in the database, so every app
# server sees the same count. docs/security.md says how an administrator unlocks.
INSTALLED_APPS += ["axes"]
AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out pair before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Last, as axes asks: it turns a request flagged as locked out into the lockout answer.
MIDDLEWARE += ["axes.middleware.AxesMiddleware"]
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "kpitrack.throttle.lockout_response"
AXES_CLIENT_IP_CALLABLE = "kpitrack.core.clients.client_address"
# How many reverse proxies stand in front of the app and append to X-Forwarded-For; 0 (the
# default): the address is REMOTE_ADDR and X-Forwarded-For is never believed.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0)

# --- Security: HTTPS, cookies, sessions, CSP, Permissions-Policy (issue 15) -------------------
# What each variable does, and the set that makes `check --deploy` clean: docs/security-settings.md
# HTTPS=1: the site is reached over HTTPS only (directly or through a proxy). Cookies are then
# sent over HTTPS only and plain-HTTP requests are redirected. Off by default, so an intranet
# served over plain HTTP still starts with DEBUG off (`check --deploy` warns about it).
HTTPS = env_bool("HTTPS", False)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = HTTPS
# A proxy that terminates TLS may redirect plain HTTP itself: SECURE_SSL_REDIRECT=0 then.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", HTTPS)
if SECURE_SSL_REDIRECT and not HTTPS:
    raise ImproperlyConfigured("SECURE_SSL_REDIRECT=1 needs HTTPS=1")
# Behind a proxy that terminates TLS, Django sees plain HTTP; the proxy says which scheme the
# browser used in X-Forwarded-Proto (it must set or overwrite that header on every request).
BEHIND_PROXY = env_bool("BEHIND_PROXY", False)
if BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
if SECURE_HSTS_SECONDS and not HTTPS:
    raise ImproperlyConfigured("SECURE_HSTS_SECONDS needs HTTPS=1: HSTS is sent over HTTPS only")
for _name in ("SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD"):
    if globals()[_name] and not SECURE_HSTS_SECONDS:
        raise ImproperlyConfigured(f"{_name}=1 needs SECURE_HSTS_SECONDS (e.g. 31536000)")
# The browsers' preload lists take a site only with max-age of a year or more.
if SECURE_HSTS_PRELOAD and SECURE_HSTS_SECONDS < 31536000:
    raise ImproperlyConfigured(
        "SECURE_HSTS_PRELOAD=1 needs SECURE_HSTS_SECONDS of 31536000 (a year) or more"
    )


def origin_list(name: str) -> list[str]:
    """Comma-separated origins, each scheme://host[:port] with an http or https scheme."""
    origins = env_list(name) or []
    for origin in origins:
        try:
            parts = urlsplit(origin)
            parts.port  # noqa: B018 (raises ValueError for a port that is not a number)
        except ValueError:
            parts = None
        if (
            parts is None
            or parts.scheme not in ("http", "https")
            or not parts.hostname
            or parts.username is not None
            or parts.path not in ("", "/")
            or parts.query
            or parts.fragment
        ):
            raise ImproperlyConfigured(
                f"{name}: {origin!r} is not an origin; write https://host or https://host:port"
                " (no path)"
            )
    return [origin.rstrip("/") for origin in origins]


# The origins a form may be posted from when the proxy changes the host or port the browser sees.
CSRF_TRUSTED_ORIGINS = origin_list("CSRF_TRUSTED_ORIGINS")

# Sessions end after SESSION_IDLE_HOURS without a request: a request saves the session, moving its
# expiry on, when its last save is SESSION_TOUCH_SECONDS old (kpitrack/sessions.py; not on every
# request, as SESSION_SAVE_EVERY_REQUEST would). Optionally they end when the browser closes, too.
SESSION_IDLE_HOURS = env_int("SESSION_IDLE_HOURS", 8, minimum=1)
SESSION_COOKIE_AGE = SESSION_IDLE_HOURS * 3600
SESSION_TOUCH_SECONDS = 60
# Django's database sessions, read a little cheaper (kpitrack/sessions.py, SessionStore).
SESSION_ENGINE = "kpitrack.sessions"
SESSION_EXPIRE_AT_BROWSER_CLOSE = env_bool("SESSION_EXPIRE_AT_BROWSER_CLOSE", False)

# Content-Security-Policy (django-csp): scripts and styles from our own static files only, no
# inline script, style element or style attribute anywhere (tests/browser/test_csp.py).
# data: images: the page's empty favicon (base.html) and the icons in the API docs' stylesheet.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
# Permissions-Policy (kpitrack.middleware.PermissionsPolicyMiddleware): no page uses any of these
# powerful features, so no page, nor anything injected into one, may ask for them.
PERMISSIONS_POLICY = {
    feature: []
    for feature in (
        "accelerometer",
        "autoplay",
        "camera",
        "display-capture",
        "encrypted-media",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "publickey-credentials-get",
        "screen-wake-lock",
        "serial",
        "usb",
        "xr-spatial-tracking",
    )
}
# Sent by SecurityMiddleware and XFrameOptionsMiddleware, named here so they are plain to see:
# X-Content-Type-Options: nosniff, Referrer-Policy, Cross-Origin-Opener-Policy, X-Frame-Options.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
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
        # The pool keeps each connection for many requests, so what they ask again and again
        # is parsed and planned once per connection: parameters bound by the server, and a
        # statement prepared on its fifth run (psycopg's default threshold). Planning was most
        # of PostgreSQL's time for these pages: a report's start spent 4.5 ms planning the
        # data version's query that ran in 1.8 ms; per request the server's CPU halved
        # (docs/benchmarks.md, "Prepared statements"). Off without the pool (a statement
        # prepared on a connection closed after the request is wasted) and with
        # DB_PREPARED_STATEMENTS=0, for a pooler in transaction mode that cannot keep them.
        if env_bool("DB_PREPARED_STATEMENTS", True):
            _db["OPTIONS"]["server_side_binding"] = True
            _db["OPTIONS"]["prepare_threshold"] = 5

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

# --- Background jobs (issue 16; README "Background jobs") ---------------------------------------
# Report PDFs and workbooks, and a ministry's reports as one zip, are rendered by jobs: rows of
# kpitrack.jobs whose files go to shared storage (STORAGES["default"]). With CELERY_BROKER_URL
# (redis://…) Celery workers run them (`make worker`); without it a pool of
# JOBS_IN_PROCESS_WORKERS threads in each web process does, so `make run` needs nothing more.
INSTALLED_APPS.append("kpitrack.jobs")
# The modules that register job kinds (kpitrack.jobs.kinds).
JOB_KIND_MODULES = [
    "kpitrack.reports.exports",
    "kpitrack.dashboards.export_jobs",
    "performance.workbook_jobs",
]
# A workbook confirm that writes more rows than this runs as a job (performance.workbook_jobs).
WORKBOOK_JOB_ROWS = env_int("WORKBOOK_JOB_ROWS", 300, minimum=0)
CELERY_BROKER_URL = _env.get("CELERY_BROKER_URL", "").strip()
if CELERY_BROKER_URL and not re.match(r"rediss?://", CELERY_BROKER_URL):
    raise ImproperlyConfigured(
        "CELERY_BROKER_URL must be a redis:// or rediss:// URL (e.g. redis://127.0.0.1:6379/0)"
    )
JOBS_IN_PROCESS_WORKERS = env_int("JOBS_IN_PROCESS_WORKERS", 2, minimum=1)
# With a broker configured but down: refuse new jobs with "queue unavailable" (off), or run them
# in the web process instead (on).
JOBS_FALLBACK_IN_PROCESS = env_bool("JOBS_FALLBACK_IN_PROCESS", False)
JOBS_BROKER_TIMEOUT = env_int("JOBS_BROKER_TIMEOUT", 2, minimum=1)  # seconds
JOBS_HEARTBEAT_SECONDS = env_int("JOBS_HEARTBEAT_SECONDS", 10, minimum=1)
# A running job whose heartbeat is older than this belonged to a process that died: failed.
JOBS_STALE_SECONDS = env_int("JOBS_STALE_SECONDS", 120, minimum=2)
if JOBS_STALE_SECONDS <= JOBS_HEARTBEAT_SECONDS:
    raise ImproperlyConfigured("JOBS_STALE_SECONDS must be longer than JOBS_HEARTBEAT_SECONDS")
JOBS_MAX_ATTEMPTS = env_int("JOBS_MAX_ATTEMPTS", 2, minimum=1)  # runs of a job a worker died in
# How much lower than the web requests' the CPU priority of what runs jobs is (Linux nice
# steps, 0-19): the in-process pool's threads, and Celery's worker processes. A report's render
# holds a core for seconds; at an equal priority the requests answered meanwhile queue behind it
# on a machine of few cores (kpitrack/jobs/priority.py). 0: the same.
JOBS_NICE = env_int("JOBS_NICE", 10, minimum=0)
if JOBS_NICE > 19:
    raise ImproperlyConfigured(f"JOBS_NICE={JOBS_NICE}: a nice step is 0-19")
# The PDFs of the jobs a web process's own pool runs (no broker) are laid out in a helper
# process per web worker, started on its first PDF and kept, so that the requests the worker
# answers meanwhile do not wait for the interpreter while WeasyPrint holds it
# (kpitrack/reports/layout.py). Off: laid out in the pool's thread (one process less per worker).
JOBS_PDF_APART = env_bool("JOBS_PDF_APART", True)
EXPORT_RETENTION_DAYS = env_int("EXPORT_RETENTION_DAYS", 30, minimum=1)
# When the approval of an agency's last result of a quarter commits, queue jobs that render the
# reports printing that quarter, so the first download is served from storage (off: rendered
# when first asked for).
PRERENDER_ON_APPROVAL = env_bool("PRERENDER_ON_APPROVAL", False)
# Celery: a message is acknowledged when its job has ended, and put back when the worker process
# running it dies; one job at a time per worker process.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_TIMEOUT = JOBS_BROKER_TIMEOUT
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TASK_IGNORE_RESULT = True
