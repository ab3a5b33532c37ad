"""Filial settings: one file, driven by the environment.

Embedded default: SQLite database and Huey's SQLite storage in ``FILIAL_DATA_DIR`` (``./var``).
Scale: ``FILIAL_DATABASE_URL`` (PostgreSQL) and ``FILIAL_REDIS_URL`` (Huey + shared rate-limit budgets).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DATA_DIR = Path(env("FILIAL_DATA_DIR", str(BASE_DIR / "var"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


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
ALLOWED_HOSTS = [h.strip() for h in env("FILIAL_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o.strip() for o in env("FILIAL_CSRF_TRUSTED_ORIGINS").split(",") if o.strip()]
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
    "rest_framework.authtoken",
    "drf_spectacular",
    "django_htmx",
    "huey.contrib.djhuey",
    "filial.core",
    "filial.accounts",
    "filial.libraries",
    "filial.channels",
    "filial.outbox",
    "filial.publishing",
    "filial.inbox",
    "filial.circulation",
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
            "NAME": str(DATA_DIR / "filial.sqlite3"),
            "OPTIONS": {
                # Web and workers share the file: WAL, a busy timeout and IMMEDIATE transactions make
                # concurrent writers wait instead of failing with "database is locked".
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; "
                    "PRAGMA busy_timeout=20000;"
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
        "filename": str(DATA_DIR / "huey.sqlite3"),
        "immediate": HUEY_IMMEDIATE,
        "consumer": {"workers": int(env("FILIAL_WORKER_THREADS", "8")), "worker_type": "thread", **HUEY_POLLING},
    }

# --- Auth ---------------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env_bool("FILIAL_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
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
FILIAL_MAX_PHOTO_PIXELS = int(env("FILIAL_MAX_PHOTO_PIXELS", str(60_000_000)))

# --- REST API -----------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "filial.core.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Filial API",
    "DESCRIPTION": "The library network's pages, posts, events and deliveries.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("FILIAL_LOG_LEVEL", "INFO")},
    # httpx logs every request URL at INFO, and some networks (Telegram, OK Bot API) put tokens in URLs.
    "loggers": {"huey": {"level": "INFO"}, "django.db.backends": {"level": "WARNING"}, "httpx": {"level": "WARNING"},
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
# The built-in emulators (`filial emulators`, started by `filial run`): VK, OK, Telegram and MAX listen on
# loopback at FILIAL_EMULATOR_PORT_BASE + 0..3 and keep their state as JSON files here.
FILIAL_EMULATOR_PORT_BASE = int(env("FILIAL_EMULATOR_PORT_BASE", "8801"))
FILIAL_EMULATOR_DIR = DATA_DIR / "emulators"
# The networks' machine-readable API specs (conformance tests only).
FILIAL_SPECS_DIR = Path(env("FILIAL_SPECS_DIR", str(BASE_DIR.parent / "shared" / "specs")))

# --- Publishing engine --------------------------------------------------------------------------
FILIAL_DELIVERY_MAX_ATTEMPTS = int(env("FILIAL_DELIVERY_MAX_ATTEMPTS", "5"))
FILIAL_DELIVERY_LEASE_SECONDS = int(env("FILIAL_DELIVERY_LEASE_SECONDS", "300"))
# A worker thread sleeps at most this long for a page's rate-limit budget; a longer wait hands the row back
# (due at the budget's time) so the thread serves other pages meanwhile. Hand-backs are free (not deferrals).
FILIAL_RATE_LIMIT_MAX_SLEEP = float(env("FILIAL_RATE_LIMIT_MAX_SLEEP", "0.3"))
# Override network budgets as "name=N/unit" pairs, e.g. "ok.token=10/second,telegram.chat=2/second"
# (names in filial/networks/ratelimit.py DEFAULT_BUDGETS).
FILIAL_RATE_LIMITS = dict(
    pair.strip().split("=", 1) for pair in env("FILIAL_RATE_LIMITS").split(",") if "=" in pair
)

# --- Recurring posts and posting slots (filial/publishing/series.py, slots.py) -------------------------------------
# Occurrences are made this many days ahead (at least the next one), armed (deliveries made) this many minutes
# before their time; a time missed by more than the grace (no worker ran) is skipped, never published late.
FILIAL_SERIES_HORIZON_DAYS = float(env("FILIAL_SERIES_HORIZON_DAYS", "7"))
FILIAL_SERIES_ARM_MINUTES = float(env("FILIAL_SERIES_ARM_MINUTES", "10"))
FILIAL_SERIES_LATE_GRACE = float(env("FILIAL_SERIES_LATE_GRACE", "120"))
# How long a posting slot lasts: another post due within it takes the slot.
FILIAL_SLOT_MINUTES = int(env("FILIAL_SLOT_MINUTES", "60"))
