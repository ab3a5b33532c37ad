"""Filial settings: one file, driven by the environment.

Embedded default: SQLite database and Huey's SQLite storage in ``FILIAL_DATA_DIR`` (``./var``).
Scale: ``FILIAL_DATABASE_URL`` (PostgreSQL) and ``FILIAL_REDIS_URL`` (Huey + shared rate-limit budgets).
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

from filial.core.private import private_file

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DATA_DIR = Path(env("FILIAL_DATA_DIR", str(BASE_DIR / "var"))).resolve()
if not DATA_DIR.exists():
    # Created by Filial: only its owner may enter (database, queue, secret key, photos of readers' messages).
    DATA_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)


def _secret_from_file(name: str, nbytes: int = 50) -> str:
    """A per-installation secret kept in the data folder (created once, mode 0600)."""
    path = DATA_DIR / name
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(nbytes))
    return path.read_text().strip()


SECRET_KEY = env("FILIAL_SECRET_KEY") or _secret_from_file("secret_key")
# Fernet keys for credentials at rest: comma-separated, first one encrypts, all decrypt (rotation).
FILIAL_ENCRYPTION_KEYS = env("FILIAL_ENCRYPTION_KEYS")
DEBUG = env_bool("FILIAL_DEBUG", False)
ALLOWED_HOSTS = env_list("FILIAL_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("FILIAL_CSRF_TRUSTED_ORIGINS")
# Reverse proxies (addresses or networks) whose X-Forwarded-For (and X-Forwarded-Proto) is believed; with none,
# the connecting address is the client (filial/core/clientip.py).
FILIAL_TRUSTED_PROXIES = env_list("FILIAL_TRUSTED_PROXIES")
FILIAL_HOST = env("FILIAL_HOST", "127.0.0.1")
FILIAL_PORT = int(env("FILIAL_PORT", "8000"))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "django_htmx",
    "huey.contrib.djhuey",
    "axes",
    "filial.core",
    "filial.accounts",
    "filial.libraries",
    "filial.channels",
    "filial.outbox",
    "filial.publishing",
    "filial.inbox",
    "filial.circulation",
    "filial.readers",
    "filial.stats",
    "filial.paid",
    "filial.reports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "filial.core.middleware.SecurityHeadersMiddleware",
    "filial.core.middleware.IdleSessionMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a throttled sign-in into a 429 (filial/accounts/throttle.py)
]

ROOT_URLCONF = "filial.urls"
WSGI_APPLICATION = "filial.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "filial" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "filial.core.context_processors.navigation",
            ],
        },
    }
]

# --- Database -----------------------------------------------------------------------------------
DATABASE_URL = env("FILIAL_DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(private_file(DATA_DIR / "filial.sqlite3")),
            "OPTIONS": {
                # Web and workers share the file: WAL, a busy timeout and IMMEDIATE transactions make
                # concurrent writers wait instead of failing with "database is locked".
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; "
                    # Deleted and overwritten content is zeroed in the file, not left readable in free space
                    # (erasure, docs/security.md; cost measured in bench/secure_delete.py).
                    "PRAGMA busy_timeout=20000; PRAGMA secure_delete=ON;"
                ),
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

# --- Queue (Huey) -------------------------------------------------------------------------------
REDIS_URL = env("FILIAL_REDIS_URL")
HUEY_IMMEDIATE = env_bool("FILIAL_HUEY_IMMEDIATE", False)
# An idle worker thread looks at the queue again after 0.1 s, then ever less often, but at least once a second
# (Huey's default grows to 10 s: a post due after a quiet minute would wait that long; Redis answers at once).
HUEY_POLLING = {"initial_delay": 0.1, "backoff": 1.15, "max_delay": 1.0}
if REDIS_URL:
    HUEY = {
        "huey_class": "huey.RedisHuey",
        "name": env("FILIAL_HUEY_NAME", "filial"),
        "url": REDIS_URL,
        "immediate": HUEY_IMMEDIATE,
        "consumer": {"workers": int(env("FILIAL_WORKER_THREADS", "8")), "worker_type": "thread", **HUEY_POLLING},
    }
else:
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "filial",
        "filename": str(private_file(DATA_DIR / "huey.sqlite3")),
        "immediate": HUEY_IMMEDIATE,
        "consumer": {"workers": int(env("FILIAL_WORKER_THREADS", "8")), "worker_type": "thread", **HUEY_POLLING},
    }

# --- Auth ---------------------------------------------------------------------------------------
FILIAL_PASSWORD_MIN_LENGTH = int(env("FILIAL_PASSWORD_MIN_LENGTH", "12"))
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": FILIAL_PASSWORD_MIN_LENGTH}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"
AUTHENTICATION_BACKENDS = [
    "filial.accounts.throttle.LoginThrottleBackend",  # refuses a locked-out account or address first
    "django.contrib.auth.backends.ModelBackend",
]
# Login throttling (django-axes, filial/accounts/throttle.py): the login page, /admin/login/ and the API token.
FILIAL_LOGIN_FAILURES_PER_ACCOUNT = int(env("FILIAL_LOGIN_FAILURES_PER_ACCOUNT", "5"))
FILIAL_LOGIN_FAILURES_PER_ADDRESS = int(env("FILIAL_LOGIN_FAILURES_PER_ADDRESS", "30"))
FILIAL_LOGIN_LOCKOUT_MINUTES = int(env("FILIAL_LOGIN_LOCKOUT_MINUTES", "15"))
AXES_FAILURE_LIMIT = FILIAL_LOGIN_FAILURES_PER_ACCOUNT
AXES_COOLOFF_TIME = timedelta(minutes=FILIAL_LOGIN_LOCKOUT_MINUTES)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # either one locks: per account, per address
AXES_CLIENT_IP_CALLABLE = "filial.core.clientip.client_ip"
AXES_HANDLER = "filial.accounts.throttle.LoginAttemptHandler"
AXES_LOCKOUT_CALLABLE = "filial.accounts.throttle.lockout_response"
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False  # the lock-out ends on time even while someone keeps trying
AXES_DISABLE_ACCESS_LOG = True  # failures are kept (AccessAttempt, until the cool-off); no log of every login
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "password"]
# API tokens (filial/accounts/tokens.py): stored as digests, valid this many days.
FILIAL_API_TOKEN_DAYS = float(env("FILIAL_API_TOKEN_DAYS", "30"))
# A session ends after this many minutes without a request (filial/core/middleware.py IdleSessionMiddleware).
FILIAL_SESSION_IDLE_MINUTES = int(env("FILIAL_SESSION_IDLE_MINUTES", "60"))
SESSION_COOKIE_AGE = FILIAL_SESSION_IDLE_MINUTES * 60
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_FAILURE_VIEW = "filial.core.views.csrf_failure"  # a styled Russian page (core/views.py)
# Served over HTTPS: cookies only over HTTPS, and HSTS (a year) so browsers never come back over plain HTTP.
FILIAL_SECURE_COOKIES = env_bool("FILIAL_SECURE_COOKIES", False)
SESSION_COOKIE_SECURE = FILIAL_SECURE_COOKIES
CSRF_COOKIE_SECURE = FILIAL_SECURE_COOKIES
if FILIAL_SECURE_COOKIES:
    SECURE_HSTS_SECONDS = int(env("FILIAL_HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = False  # other sites of the library's domain are not ours to decide
if FILIAL_TRUSTED_PROXIES:
    # The TLS-terminating proxy says the request came over HTTPS; untrusted peers' forwarding headers are removed
    # before Django sees them (filial/wsgi.py), so nobody else can say so.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# --- E-mail (alerts such as "a page needs re-authorisation") -------------------------------------------
# Embedded default: messages are written as files into the data folder (nothing leaves the machine); set
# FILIAL_EMAIL_HOST to send through an SMTP server.
FILIAL_EMAIL_HOST = env("FILIAL_EMAIL_HOST")
if FILIAL_EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = FILIAL_EMAIL_HOST
    EMAIL_PORT = int(env("FILIAL_EMAIL_PORT", "587"))
    EMAIL_HOST_USER = env("FILIAL_EMAIL_USER")
    EMAIL_HOST_PASSWORD = env("FILIAL_EMAIL_PASSWORD")
    EMAIL_USE_TLS = env_bool("FILIAL_EMAIL_USE_TLS", True)
else:
    EMAIL_BACKEND = env("FILIAL_EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
    EMAIL_FILE_PATH = DATA_DIR / "mail"
DEFAULT_FROM_EMAIL = env("FILIAL_EMAIL_FROM", "filial@localhost")

# --- I18N / time --------------------------------------------------------------------------------
LANGUAGE_CODE = "ru"
LANGUAGES = [("ru", _("Russian")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "filial" / "locale"]
TIME_ZONE = env("FILIAL_TIME_ZONE", "Asia/Yekaterinburg")
USE_I18N = True
USE_TZ = True

# --- Files --------------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
MEDIA_URL = "/media/"
MEDIA_ROOT = DATA_DIR / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env_bool("FILIAL_MANIFEST_STATIC", False)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = True
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 30 * 1024 * 1024
FILIAL_MAX_PHOTO_BYTES = int(env("FILIAL_MAX_PHOTO_BYTES", str(20 * 1024 * 1024)))
# The web server (waitress, `filial web`) refuses a request body larger than this before the application reads it:
# a little (1 MiB) above the largest legitimate request: a post with its 10 photos (publishing.services.MAX_PHOTOS)
# of FILIAL_MAX_PHOTO_BYTES each, a loans import (circulation.imports.MAX_SIZE, 50 MiB), a form without files.
FILIAL_MAX_REQUEST_BYTES = int(env("FILIAL_MAX_REQUEST_BYTES", str(
    max(10 * FILIAL_MAX_PHOTO_BYTES, 50 * 1024 * 1024, DATA_UPLOAD_MAX_MEMORY_SIZE) + 1024 * 1024)))
FILIAL_MAX_PHOTO_PIXELS = int(env("FILIAL_MAX_PHOTO_PIXELS", str(25_000_000)))
FILIAL_PHOTO_CONCURRENCY = int(env("FILIAL_PHOTO_CONCURRENCY", "2"))
# Import files (circulation/parsers/limits.py): caps, and the child process that parses them.
FILIAL_IMPORT_MAX_ROWS = int(env("FILIAL_IMPORT_MAX_ROWS", "200000"))
FILIAL_IMPORT_MAX_COLUMNS = int(env("FILIAL_IMPORT_MAX_COLUMNS", "100"))
FILIAL_IMPORT_MAX_UNPACKED_MB = int(env("FILIAL_IMPORT_MAX_UNPACKED_MB", "300"))
FILIAL_IMPORT_MEMORY_MB = int(env("FILIAL_IMPORT_MEMORY_MB", "1024"))
FILIAL_IMPORT_PARSE_SECONDS = int(env("FILIAL_IMPORT_PARSE_SECONDS", "300"))

# --- REST API -----------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "filial.accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # One request content type per operation: JSON; multipart only where a file is uploaded (photos, imports).
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "filial.core.api.Pagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "filial.core.api.exception_handler",
    # Any DRF throttle keys on the connecting address, or on the address our trusted proxy appended (never on what
    # a client wrote into X-Forwarded-For itself); sign-in throttling is filial/accounts/throttle.py.
    "NUM_PROXIES": 1 if FILIAL_TRUSTED_PROXIES else 0,
}
# In production (FILIAL_DEBUG off) the schema is served only to signed-in users unless made public; the Django
# admin can be switched off altogether (FILIAL_ADMIN=off).
FILIAL_PUBLIC_API_SCHEMA = env_bool("FILIAL_PUBLIC_API_SCHEMA", DEBUG)
FILIAL_ADMIN = env_bool("FILIAL_ADMIN", True)
SPECTACULAR_SETTINGS = {
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny" if FILIAL_PUBLIC_API_SCHEMA
                          else "rest_framework.permissions.IsAuthenticated"],
    "TITLE": "Filial API",
    "DESCRIPTION": "The library network's pages, posts, events and deliveries.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v[0-9]+",  # operation ids "posts_create", not "v1_posts_create"
    # Every operation's error answers (400/401/403/404/409/429) as shared components: filial/core/schema.py.
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "filial.core.schema.error_responses"],
    # A report's "kind" (annual, quarterly, monthly) is not a post's or a page's "kind".
    "ENUM_NAME_OVERRIDES": {
        "ReportKindEnum": "filial.reports.models.Report.Kind",
        "StatsSourceEnum": "filial.stats.models.Source",  # vs. the loans' "source" (circulation)
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("FILIAL_LOG_LEVEL", "INFO")},
    # httpx logs every request URL at INFO, and some networks (Telegram, OK Bot API) put tokens in URLs.
    # axes logs every failed sign-in at INFO; its lock-outs at WARNING are what an administrator needs.
    "loggers": {"huey": {"level": "INFO"}, "django.db.backends": {"level": "WARNING"}, "httpx": {"level": "WARNING"},
                "axes": {"level": "WARNING"},
                "httpcore": {"level": "WARNING"}},
}

# --- Networks -----------------------------------------------------------------------------------
# Base URLs of the networks' APIs. A value set here (or in the environment) always wins; the embedded demo
# points its pages at the local emulators through Channel.api_base_url.
FILIAL_VK_API_URL = env("FILIAL_VK_API_URL", "https://api.vk.ru/method/")
FILIAL_VK_OAUTH_URL = env("FILIAL_VK_OAUTH_URL", "https://id.vk.ru/oauth2/auth")
FILIAL_OK_API_URL = env("FILIAL_OK_API_URL", "https://api.ok.ru/fb.do")
FILIAL_TELEGRAM_API_URL = env("FILIAL_TELEGRAM_API_URL", "https://api.telegram.org")
FILIAL_MAX_API_URL = env("FILIAL_MAX_API_URL", "https://platform-api2.max.ru")
FILIAL_NETWORK_TIMEOUT = float(env("FILIAL_NETWORK_TIMEOUT", "20"))
# A page's API address may name only its network's own hosts, the host of the FILIAL_*_API_URL above and the
# built-in emulator's loopback address; an administrator of the installation may allow more host names here
# (comma-separated), e.g. a self-hosted Telegram Bot API server (filial/networks/egress.py).
FILIAL_EXTRA_API_HOSTS = [h.strip().lower() for h in env("FILIAL_EXTRA_API_HOSTS").split(",") if h.strip()]
# Koha and SIP2 servers are the library's own, often on its intranet: private and loopback addresses are allowed
# (link-local and multicast never). On: refuse loopback and private addresses too (e.g. a cloud installation).
FILIAL_LIBRARY_SYSTEM_PUBLIC_ONLY = env_bool("FILIAL_LIBRARY_SYSTEM_PUBLIC_ONLY", False)
# The built-in emulators (`filial emulators`, started by `filial run`): VK, OK, Telegram and MAX listen on
# loopback at FILIAL_EMULATOR_PORT_BASE + 0..3 and keep their state as JSON files here.
FILIAL_EMULATOR_PORT_BASE = int(env("FILIAL_EMULATOR_PORT_BASE", "8801"))
FILIAL_EMULATOR_DIR = DATA_DIR / "emulators"
# The networks' machine-readable API specs (conformance tests only).
FILIAL_SPECS_DIR = Path(env("FILIAL_SPECS_DIR", str(BASE_DIR.parent / "shared" / "specs")))
FILIAL_SAMPLES_DIR = Path(env("FILIAL_SAMPLES_DIR", str(BASE_DIR.parent / "shared" / "samples")))

# --- Publishing engine --------------------------------------------------------------------------
FILIAL_DELIVERY_MAX_ATTEMPTS = int(env("FILIAL_DELIVERY_MAX_ATTEMPTS", "5"))
FILIAL_DELIVERY_LEASE_SECONDS = int(env("FILIAL_DELIVERY_LEASE_SECONDS", "300"))
# A worker thread sleeps at most this long for a page's rate-limit budget; a longer wait hands the row back
# (due at the budget's time) so the thread serves other pages meanwhile. Hand-backs are free (not deferrals).
FILIAL_RATE_LIMIT_MAX_SLEEP = float(env("FILIAL_RATE_LIMIT_MAX_SLEEP", "0.3"))
# Override network budgets as "name=N/unit" pairs, e.g. "ok.token=10/second,telegram.chat=2/second"
# (names in the networks' specs, filial/networks/<net>/__init__.py "budgets").
FILIAL_RATE_LIMITS = dict(
    pair.strip().split("=", 1) for pair in env("FILIAL_RATE_LIMITS").split(",") if "=" in pair
)

FILIAL_DELIVERY_RETRY_BASE = float(env("FILIAL_DELIVERY_RETRY_BASE", "30"))  # first retry after this many seconds
FILIAL_DELIVERY_RETRY_CAP = float(env("FILIAL_DELIVERY_RETRY_CAP", "3600"))  # doubling, at most this long
FILIAL_DELIVERY_MAX_DEFERRALS = int(env("FILIAL_DELIVERY_MAX_DEFERRALS", "30"))  # rate-limit deferrals of one row
# A page's lane claims this many due rows at once, and after this many seconds lets other work go first.
FILIAL_LANE_BATCH = int(env("FILIAL_LANE_BATCH", "20"))
FILIAL_LANE_SLICE = float(env("FILIAL_LANE_SLICE", "10"))
# The sweeper queues rows due within this many seconds, and queues again a due row still waiting after the other.
FILIAL_SWEEP_HORIZON = float(env("FILIAL_SWEEP_HORIZON", "70"))
FILIAL_SWEEP_REQUEUE_AFTER = float(env("FILIAL_SWEEP_REQUEUE_AFTER", "120"))
# Statistics (filial/stats): the daily job reads each page's publications of the last FILIAL_STATS_DAYS days, between
# FILIAL_STATS_NIGHT_START and FILIAL_STATS_NIGHT_END o'clock in the page's unit's zone; it leaves a page alone while
# the page has a publication or message due within FILIAL_STATS_QUIET_SECONDS (publishing goes first).
FILIAL_STATS_DAYS = int(env("FILIAL_STATS_DAYS", "30"))
FILIAL_STATS_NIGHT_START = int(env("FILIAL_STATS_NIGHT_START", "1"))
FILIAL_STATS_NIGHT_END = int(env("FILIAL_STATS_NIGHT_END", "5"))
FILIAL_STATS_QUIET_SECONDS = float(env("FILIAL_STATS_QUIET_SECONDS", "600"))
FILIAL_VK_REFRESH_MARGIN = float(env("FILIAL_VK_REFRESH_MARGIN", "900"))  # refresh a VK token this long before expiry
# Slack kept below every network budget: seconds, and a fraction of the window.
FILIAL_RATE_LIMIT_MARGIN = float(env("FILIAL_RATE_LIMIT_MARGIN", "0.05"))
FILIAL_RATE_LIMIT_MARGIN_FRACTION = float(env("FILIAL_RATE_LIMIT_MARGIN_FRACTION", "0.01"))

# --- Inbox, polls, webhooks, readers (filial/inbox/, filial/channels/webhooks.py, filial/readers/linking.py) --
FILIAL_INBOX_POLL_LEASE_SECONDS = float(env("FILIAL_INBOX_POLL_LEASE_SECONDS", str(2 * FILIAL_NETWORK_TIMEOUT + 60)))
FILIAL_INBOX_IMAGE_MAX_BYTES = int(env("FILIAL_INBOX_IMAGE_MAX_BYTES", str(1024 * 1024)))
FILIAL_POLL_FETCH_INTERVAL = float(env("FILIAL_POLL_FETCH_INTERVAL", "900"))  # seconds between counts of a poll
FILIAL_POLL_FOLLOW_DAYS = float(env("FILIAL_POLL_FOLLOW_DAYS", "30"))  # polls without an end: counted this long
FILIAL_POLL_LEASE_SECONDS = float(env("FILIAL_POLL_LEASE_SECONDS", "120"))
FILIAL_POLL_RETRY_BASE = float(env("FILIAL_POLL_RETRY_BASE", "60"))
FILIAL_POLL_RETRY_CAP = float(env("FILIAL_POLL_RETRY_CAP", "3600"))
FILIAL_WEBHOOK_MAX_BYTES = int(env("FILIAL_WEBHOOK_MAX_BYTES", str(1024 * 1024)))
FILIAL_OK_WEBHOOK_CHECK_SOURCE = env_bool("FILIAL_OK_WEBHOOK_CHECK_SOURCE", False)
FILIAL_LINK_CODE_HOURS = float(env("FILIAL_LINK_CODE_HOURS", "24"))

# --- Recurring posts and posting slots (filial/publishing/series.py, slots.py) -------------------------------------
# Occurrences are made this many days ahead (at least the next one), armed (deliveries made) this many minutes
# before their time; a time missed by more than the grace (no worker ran) is skipped, never published late.
FILIAL_SERIES_HORIZON_DAYS = float(env("FILIAL_SERIES_HORIZON_DAYS", "7"))
FILIAL_SERIES_ARM_MINUTES = float(env("FILIAL_SERIES_ARM_MINUTES", "10"))
FILIAL_SERIES_LATE_GRACE = float(env("FILIAL_SERIES_LATE_GRACE", "120"))
# How long a posting slot lasts: another post due within it takes the slot.
FILIAL_SLOT_MINUTES = int(env("FILIAL_SLOT_MINUTES", "60"))

# --- Readers' data (filial/readers/linking.py: retention_run, daily) ------------------------------------------
# A reader with no loan on hand and nothing happening for this many days (no loan returned or due, no dialogue,
# no link) is erased with their dialogue texts; 0 turns the job off. A year: libraries re-register readers
# yearly and report loans by calendar year, and a reader who returned everything may borrow again next season.
FILIAL_READER_RETENTION_DAYS = int(env("FILIAL_READER_RETENTION_DAYS", "365"))
