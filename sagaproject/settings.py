"""Settings, read once from the environment.

DEBUG is off unless DEBUG=1: a deployment that forgets it gets the strict settings and must
set SECRET_KEY, never a known development key. `make run` and the test suite turn DEBUG on;
`make setup` also writes it to the development site's var/development.env, so every
`manage.py` command typed in a development checkout sees the same site that `make run` serves.
Production sets SECRET_KEY, ALLOWED_HOSTS and DATABASE_URL; see README.md.
"""

import zoneinfo
from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy

from sagaproject.databases import build_databases, masked_url, sqlite_dirs
from sagaproject.env import (
    env_bool,
    env_choice,
    env_float,
    env_int,
    env_list,
    env_rate,
    env_str,
    load_development_env,
)

BASE_DIR = Path(__file__).resolve().parent.parent
load_development_env(BASE_DIR)

DEBUG = env_bool("DEBUG", False)
_DEV_SECRET = "dev-only-insecure-secret-key-change-me-in-production-0123456789"
SECRET_KEY = env_str("SECRET_KEY", _DEV_SECRET if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_q",
    # Locks out password guessing on /login/ and /admin/login/ (see LOGIN_FAILURE_LIMIT below);
    # django-axes under a name the console can show in Japanese.
    "sagaproject.apps.LoginLockoutsConfig",
    "sagas",
    "orders",
    "payments",
    "inventory",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language: the language cookie, then Accept-Language (a saved preference wins, below).
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # A logged-in user's saved language and time zone (orders/preferences.py).
    "orders.middleware.PreferenceMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a refused login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "sagaproject.urls"
WSGI_APPLICATION = "sagaproject.wsgi.application"

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
            ],
        },
    },
]

DATABASES = build_databases(BASE_DIR)
for _folder in sqlite_dirs(DATABASES):
    _folder.mkdir(parents=True, exist_ok=True)
DATABASE_ROUTERS = ["sagaproject.routers.ServiceRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Password guessing: after LOGIN_FAILURE_LIMIT failed logins for one username from one address,
# that pair is refused, right password or not, for LOGIN_LOCKOUT_MINUTES (django-axes, whose
# attempts live in a table on `default`); other users and other addresses are not affected.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# The attempts are in the admin (Axes > Access attempts); no log line per attempt or at start-up.
AXES_VERBOSE = False
AXES_LOCKOUT_CALLABLE = "sagaproject.login_lockout.lockout_response"
# The client address by the same rule as the API's throttles (NUM_PROXIES), so a client cannot
# pick a fresh address by sending X-Forwarded-For itself.
AXES_CLIENT_IP_CALLABLE = "sagaproject.login_lockout.client_address"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "catalog"
LOGOUT_REDIRECT_URL = "catalog"

LANGUAGES = [("en", "English"), ("ja", "日本語")]
# The language of a visitor with no preference, and the one the management commands speak
# (Django runs a command in LANGUAGE_CODE): `LANGUAGE_CODE=ja manage.py saga_status ...`.
LANGUAGE_CODE = env_choice("LANGUAGE_CODE", "en", tuple(code for code, _name in LANGUAGES))
# The project templates' and modules' catalogue; each app has its own in <app>/locale.
LOCALE_PATHS = [BASE_DIR / "sagaproject" / "locale"]
# Times are stored in UTC and shown in this zone unless a user saved one of their own.
TIME_ZONE = env_str("TIME_ZONE", "UTC")
if TIME_ZONE not in zoneinfo.available_timezones():
    raise ImproperlyConfigured(f"TIME_ZONE={TIME_ZONE!r} is not a time zone name such as 'UTC' or 'Asia/Tokyo'.")
USE_I18N = True
USE_TZ = True
# One date and time format on every admin page: see sagaproject/formats.
FORMAT_MODULE_PATH = ["sagaproject.formats"]

# The currency every amount is in and shown in (sagas.participant.money.format_money, the
# `money` template filter). The demo's prices have cents, so the default is dollars.
CURRENCY_CODE = env_str("CURRENCY_CODE", "USD")
CURRENCY_SYMBOL = env_str("CURRENCY_SYMBOL", "$")
CURRENCY_DECIMALS = env_int("CURRENCY_DECIMALS", 2, minimum=0)

STATIC_URL = "static/"
# Where collectstatic gathers the files whitenoise serves.
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# --- django-q2: the worker cluster (see README "Workers in production") -------------------------
_Q_WORKERS = env_int("Q_WORKERS", 2, minimum=1)
Q_CLUSTER = {
    "name": "saga",
    # The queue lives on the engine's alias, so a checkpoint and its enqueue commit together.
    "orm": "default",
    "workers": _Q_WORKERS,
    # A hard ceiling per task; the engine enforces each step's own, shorter timeout.
    "timeout": env_int("Q_TIMEOUT", 120, minimum=1),
    # The broker's redelivery lease: longer than any task can run so a live task is never
    # handed to a second worker; the engine's own lease decides what runs.
    "retry": env_int("Q_RETRY", 300, minimum=2),
    "queue_limit": _Q_WORKERS,
    "bulk": 1,
    # The engine, not django-q2, decides retries; failures are acknowledged.
    "ack_failures": True,
    "max_attempts": 1,
    "save_limit": -1,
    "catch_up": False,
    "recycle": 500,
    "max_rss": 512_000,
    "guard_cycle": 0.5,
    # The console's name for django-q2's section (its app name), translated.
    "label": gettext_lazy("Worker tasks"),
}
# The ORM broker (default) is at-least-once and enqueues inside the checkpoint transaction.
# Redis is faster but at-most-once: the engine then enqueues on commit and the recovery sweep
# covers what a crash loses.
Q_BROKER = env_choice("Q_BROKER", "orm", ("orm", "redis"))
if Q_BROKER == "redis":
    del Q_CLUSTER["orm"]
    Q_CLUSTER["redis"] = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")

# Workers wake on commit: every enqueue NOTIFYs in its transaction and the ORM broker's pusher
# waits on LISTEN instead of sleeping its poll (sagas/workers/broker.py), so the poll is only
# the fallback for a lost notification and can be long. PostgreSQL with the ORM broker only.
_QUEUE_ON_POSTGRES = Q_BROKER == "orm" and DATABASES["default"]["ENGINE"].endswith("postgresql")
Q_LISTEN = env_bool("Q_LISTEN", _QUEUE_ON_POSTGRES)
if Q_LISTEN and not _QUEUE_ON_POSTGRES:
    raise ImproperlyConfigured("Q_LISTEN=1 needs the ORM broker (Q_BROKER=orm) on PostgreSQL (DATABASE_URL).")
if Q_LISTEN:
    Q_CLUSTER["broker_class"] = "sagas.workers.broker.ListenBroker"
# Seconds an idle pusher waits before it reads the queue again (a listening one wakes sooner).
Q_CLUSTER["poll"] = env_float("Q_POLL", 1.0 if Q_LISTEN else 0.1, minimum=0.01)

# --- the saga engine ------------------------------------------------------------------------
SAGA_DEFAULT_STYLE = env_choice("SAGA_DEFAULT_STYLE", "orchestration", ("orchestration", "choreography"))
# A saga must finish within this many seconds of its start or it compensates.
SAGA_DEADLINE_SECONDS = env_int("SAGA_DEADLINE_SECONDS", 300, minimum=1)
# Added to a step's timeout to form its lease, so a slow commit is not taken for a crash.
SAGA_LEASE_MARGIN_SECONDS = env_int("SAGA_LEASE_MARGIN_SECONDS", 10, minimum=1)
# One task runs steps back to back for at most this long, then hands the saga back to the queue.
SAGA_TASK_BUDGET_SECONDS = env_int("SAGA_TASK_BUDGET_SECONDS", 30, minimum=1)
# Modules that define sagas, imported when the engine starts, in every process: web, workers and
# commands. The project's own (the order cancellation) always; the variable adds more.
SAGA_DEFINITION_MODULES = ["orders.cancellation_saga", *env_list("SAGA_DEFINITION_MODULES", [])]
# How long after placing an order its customer may still cancel it (docs/order-cancellation.md).
ORDER_CANCELLATION_WINDOW_SECONDS = env_int("ORDER_CANCELLATION_WINDOW_SECONDS", 86400, minimum=0)

# Fault rules (admin: Sagas > Fault rules) make participant calls fail or slow down on purpose:
# a testing tool, so they fire only where this allows, by default in development only.
FAULT_INJECTION = env_bool("FAULT_INJECTION", DEBUG)

# The API's saved Idempotency-Key answers are kept this long, then purged by the recovery schedule.
IDEMPOTENCY_KEY_RETENTION_HOURS = env_int("IDEMPOTENCY_KEY_RETENTION_HOURS", 24, minimum=1)

# --- choreography: the outboxes and their sweep (see README "Choreography") -------------------
# Delivered events and inbox records are kept this long (for inspection), then purged.
OUTBOX_RETENTION_HOURS = env_int("OUTBOX_RETENTION_HOURS", 72, minimum=1)
# The sweep relays outbox rows older than this; younger ones are left to the relay on commit.
OUTBOX_RELAY_GRACE_SECONDS = env_int("OUTBOX_RELAY_GRACE_SECONDS", 10, minimum=0)
# A choreographed saga untouched this long has its events delivered again by the sweep.
CHOREOGRAPHY_IDLE_SECONDS = env_int("CHOREOGRAPHY_IDLE_SECONDS", 60, minimum=1)

REST_FRAMEWORK = {
    # Throttles key on the client address: 0 trusts only the socket's peer, so a client cannot pick
    # its own bucket with X-Forwarded-For; behind N proxies that each append to it, set N.
    "NUM_PROXIES": env_int("NUM_PROXIES", 0, minimum=0),
    # Token first: its WWW-Authenticate challenge makes a request without credentials a 401, not a 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_rate("API_THROTTLE_ANON", "60/minute"),
        "user": env_rate("API_THROTTLE_USER", "600/minute"),
        "order_place": env_rate("API_THROTTLE_ORDER_PLACE", "60/minute"),
        "token_obtain": env_rate("API_THROTTLE_TOKEN_OBTAIN", "10/minute"),
    },
    "EXCEPTION_HANDLER": "sagas.api.toolkit.errors.api_exception_handler",
}
SPECTACULAR_SETTINGS = {
    # The product's name, left untranslated: the schema view also makes it the download's file name
    # (Content-Disposition), and a non-ASCII one would garble that header.
    "TITLE": "Sagas for Django API",
    # Lazy: the schema view renders it in the request's language (LocaleMiddleware, Accept-Language).
    "DESCRIPTION": gettext_lazy("Place orders that run as sagas across orders, payments and inventory."),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # No call to the public spec validator: the docs must work behind a firewall.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "ENUM_NAME_OVERRIDES": {
        "SagaStatusEnum": "sagas.models.SagaStatus",
        "StepStatusEnum": "sagas.models.StepStatus",
        "OrderStatusEnum": "orders.api.selectors.ORDER_STATUSES",
        "CancelPathEnum": "orders.api.serializers.CANCEL_PATHS",
        "CancelRefusalCodeEnum": "orders.api.serializers.REFUSAL_CODES",
    },
}

_LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
LOG_FORMAT = env_choice("LOG_FORMAT", "text", ("text", "json"))
LOG_LEVEL = env_choice("LOG_LEVEL", "info", _LOG_LEVELS).upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"saga_context": {"()": "sagas.ops.logging.SagaContextFilter"}},
    "formatters": {
        "text": {
            "format": "%(asctime)s %(levelname)s %(name)s [saga=%(saga_id)s step=%(step)s "
            "attempt=%(attempt)s] %(message)s"
        },
        "json": {"()": "sagas.ops.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["saga_context"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"level": "INFO"},
        # django-q2 logs as "django-q"; at INFO it writes two lines per task.
        "django-q": {"level": env_choice("Q_LOG_LEVEL", "warning", _LOG_LEVELS).upper()},
        # runserver's request lines: through our handler so LOG_FORMAT=json covers them too.
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}

# --- operational endpoints: /metrics and /healthz (see README "Monitoring") ------------------
# django-q2's clusters publish their status (the "Stat") to this cache every guard cycle; a
# cache shared by every host is what lets /healthz and `qinfo` see clusters on other machines.
# The table is made by `manage.py createcachetable`.
#
# The default cache holds the throttle counts (the API's and the storefront's). It must be one
# that every web process shares, or N gunicorn workers would allow N times each rate: a table on
# `default` (made by the same createcachetable), or Redis when CACHE_URL names a server.
CACHE_URL = env_str("CACHE_URL", "").strip()
if not CACHE_URL:
    _DEFAULT_CACHE = {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "saga_cache"}
elif CACHE_URL.startswith(("redis://", "rediss://", "unix://")):
    _DEFAULT_CACHE = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
else:
    raise ImproperlyConfigured(
        f"CACHE_URL={masked_url(CACHE_URL)!r} is not a Redis URL (redis://, rediss:// or unix://); "
        "leave it empty to keep the cache in a table on the default database."
    )
CACHES = {
    "default": _DEFAULT_CACHE,
    "cluster": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "saga_cluster_cache"},
}
Q_CLUSTER["cache"] = "cluster"
# When set, /metrics answers only requests with "Authorization: Bearer <token>".
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
# The step duration histogram covers steps that finished this recently, read from at most
# this many of the newest step log rows.
METRICS_STEP_WINDOW_SECONDS = env_int("METRICS_STEP_WINDOW_SECONDS", 300, minimum=1)
METRICS_STEP_SAMPLE_ROWS = env_int("METRICS_STEP_SAMPLE_ROWS", 10_000, minimum=100)
# /healthz calls the workers stalled when a queued task has been ready this long while no
# step finished in that time.
HEALTH_QUEUE_STALL_SECONDS = env_int("HEALTH_QUEUE_STALL_SECONDS", 120, minimum=10)
# run_workers restarts its cluster when it stalls by that rule, when a worker died and was not
# replaced within WORKER_MISSING_SECONDS, or when the cluster's heartbeat is older than
# WORKER_HEARTBEAT_TIMEOUT_SECONDS; a restart gives the old cluster WORKER_RESTART_GRACE_SECONDS
# to stop before its process group is killed. It also runs both recovery sweeps every
# WORKER_SWEEP_SECONDS (0: leave them to the once-a-minute schedules).
WORKER_RESTART_GRACE_SECONDS = env_int("WORKER_RESTART_GRACE_SECONDS", 10, minimum=0)
WORKER_MISSING_SECONDS = env_int("WORKER_MISSING_SECONDS", 10, minimum=1)
WORKER_HEARTBEAT_TIMEOUT_SECONDS = env_int("WORKER_HEARTBEAT_TIMEOUT_SECONDS", 30, minimum=5)
WORKER_SWEEP_SECONDS = env_int("WORKER_SWEEP_SECONDS", 15, minimum=0)
# Probes and scrapers often speak plain HTTP inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
