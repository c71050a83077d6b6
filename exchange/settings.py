"""Settings for the AI-ISAC Exchange, read from the environment (12-factor).

Every knob has a safe default for a laptop: SQLite under ``DATA_DIR`` and an embedded
filesystem broker for Celery, so the exchange runs with no server installed. Production
points ``DATABASE_URL`` at PostgreSQL and ``CELERY_BROKER_URL`` at Redis.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url
import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured

# Lets admin and queryset classes be subscripted at run time, as the type hints write them.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str = "") -> str:
    """Read a setting; ``NAME_FILE`` (a Docker secret's path) wins over ``NAME``."""
    file_path = os.environ.get(f"{name}_FILE")
    if file_path:
        return Path(file_path).read_text().strip()
    return os.environ.get(name, default)


def envbool(name: str, default: str = "false") -> bool:
    value = env(name, default).strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean (use true or false)")


def envint(name: str, default: int) -> int:
    value = env(name, str(default))
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}={value!r} is not an integer") from exc


def envlist(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


# --- Core -----------------------------------------------------------------------------------

DEBUG = envbool("DEBUG", "false")
DATA_DIR = Path(env("DATA_DIR", str(BASE_DIR / "var")))
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    """An explicit SECRET_KEY, or one generated once and kept in DATA_DIR (never in git)."""
    configured = env("SECRET_KEY")
    if configured:
        return configured
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()


def _master_key() -> str:
    """The key that seals custodial signing keys at rest (AES-256-GCM, base64url of 32 bytes).

    Set MASTER_KEY or MASTER_KEY_FILE in production and keep it out of the database's
    backups; a laptop gets one generated once into DATA_DIR, like SECRET_KEY.
    """
    configured = env("MASTER_KEY")
    if configured:
        return configured
    key_file = DATA_DIR / "master_key"
    if not key_file.exists():
        key_file.touch(mode=0o600)
        key_file.write_text(secrets.token_urlsafe(32))
    return key_file.read_text().strip()


MASTER_KEY = _master_key()
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS")

#: Public base URL of this exchange (set it behind a proxy), used in TAXII discovery; when
#: empty, discovery answers with the address each request came to.
SITE_URL = env("SITE_URL").rstrip("/")

INSTALLED_APPS = [
    # Django's admin with the Forum-only site and the console's login lockout.
    "exchange.apps.ForumAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "exchange",
    "members",
    "signatures",
    "exchange.taxii",
    "exchange.fanout",
    "exchange.console",
]

MIDDLEWARE = [
    # /healthz, /readyz and /metrics, before the host check and the HTTPS redirect: probes
    # come from inside the deployment (docs/operations.md).
    "exchange.observability.middleware.ProbeMiddleware",
    # One log line and the metrics of each request; outermost but one, to time them all.
    "exchange.observability.middleware.RequestLogMiddleware",
    # A dropped database connection inside a request: 503 with Retry-After, not 500.
    "exchange.observability.middleware.DatabaseUnavailableMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "exchange.security_headers.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Frees the member's concurrency slot once the response is complete (docs/api.md).
    "exchange.throttling.ConcurrencyReleaseMiddleware",
    # Innermost, so it signs the body exactly as the view rendered it (docs/signing.md s. 6).
    "exchange.response_signing.ResponseSigningMiddleware",
]

ROOT_URLCONF = "exchange.urls"
WSGI_APPLICATION = "exchange.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "exchange" / "templates"],
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

# --- Database -------------------------------------------------------------------------------

DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{DATA_DIR / 'exchange.sqlite3'}"),
        conn_max_age=envint("DATABASE_CONN_MAX_AGE", 60),
        # A persistent connection is checked (SELECT 1) before its first use in each request
        # or task, and replaced if the server dropped it: a PostgreSQL failover or restart
        # costs the next request a reconnect, not an error (docs/operations.md).
        conn_health_checks=envbool("DATABASE_CONN_HEALTH_CHECKS", "true"),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's own queries bind values on the client and are never prepared; this lets the
    # hot read statements (members/statements.py) be prepared once per connection. Turn it
    # off behind a pooler that cannot keep prepared statements (PgBouncer before 1.21 in
    # transaction mode).
    DATABASES["default"]["OPTIONS"] = {
        "prepare_threshold": 0 if envbool("DATABASE_PREPARED_STATEMENTS", "true") else None
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite serialises writers; a generous timeout lets the web server and the worker
    # share the file without "database is locked" under a burst of publishes.
    DATABASES["default"]["OPTIONS"] = {"timeout": 30, "transaction_mode": "IMMEDIATE"}
    # A file, not ":memory:", for the test database: the fan-out tests run a Celery worker
    # in a subprocess, which must see the same database as the test.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Security -------------------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = envint("SESSION_COOKIE_AGE", 8 * 3600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = envbool("SESSION_EXPIRE_AT_BROWSER_CLOSE", "true")
#: Analyst console (docs/console.md): seconds of inactivity that end a session, and the
#: login lockout: this many failures per user name and address within CONSOLE_LOGIN_LOCKOUT
#: seconds refuse further attempts until the window has passed.
CONSOLE_IDLE_TIMEOUT = envint("CONSOLE_IDLE_TIMEOUT", 30 * 60)
CONSOLE_LOGIN_MAX_FAILURES = envint("CONSOLE_LOGIN_MAX_FAILURES", 5)
CONSOLE_LOGIN_LOCKOUT = envint("CONSOLE_LOGIN_LOCKOUT", 15 * 60)
SECURE_CONTENT_TYPE_NOSNIFF = True
# Secrets shown once (webhook secrets, tokens) travel through messages: keep them in the
# server-side session, never in a (signed but readable) cookie.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
X_FRAME_OPTIONS = "DENY"

# --- Security: sign-in, HTTPS and browser headers (README's variables table) ----------------

#: One backend for every sign-in (console, admin): it applies the console's login lockout.
AUTHENTICATION_BACKENDS = ["exchange.console.auth.LockoutModelBackend"]
# Off by default so that plain http://127.0.0.1 works on a laptop; production behind TLS
# turns them on (manage.py check --deploy is clean with the README's production values).
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", "false")
SESSION_COOKIE_SECURE = envbool("SESSION_COOKIE_SECURE", "false")
CSRF_COOKIE_SECURE = envbool("CSRF_COOKIE_SECURE", "false")
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", "false")
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", "false")
SECURE_REFERRER_POLICY = "same-origin"


def _proxy_ssl_header() -> tuple[str, str] | None:
    """SECURE_PROXY_SSL_HEADER names the header a TLS-terminating proxy sets to "https"
    (e.g. X-Forwarded-Proto). Set it only behind such a proxy, which must overwrite the
    header a client sends: otherwise any client could claim its request came over HTTPS."""
    name = env("SECURE_PROXY_SSL_HEADER").strip()
    if not name:
        return None
    if not all(part.isalnum() for part in name.split("-")):
        raise ImproperlyConfigured(f"SECURE_PROXY_SSL_HEADER={name!r} is not a header name")
    return "HTTP_" + name.upper().replace("-", "_"), "https"


SECURE_PROXY_SSL_HEADER = _proxy_ssl_header()

# --- Internationalisation and static files --------------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
#: Where collectstatic writes and whitenoise serves from. The image sets it to a folder of
#: its own, filled at build time (docker/Dockerfile), so no volume is needed for it.
STATIC_ROOT = Path(env("STATIC_ROOT", str(DATA_DIR / "static")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- REST API -------------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["members.authentication.TokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["members.permissions.HasReadScope"],
    "DEFAULT_RENDERER_CLASSES": ["exchange.api.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["exchange.api.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "exchange.api.exceptions.exception_handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "AI-ISAC Exchange API",
    "DESCRIPTION": "Publish and read STIX 2.1 signatures of AI distillation attacks.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    # Requests and answers of a serializer are separate components: what a client sends
    # (no read-only fields, non-blank strings) is not what it reads back.
    "COMPONENT_SPLIT_REQUEST": True,
    # The JSON shapes no serializer describes (STIX, TAXII, the publish report, keys) and
    # every operation's error answers, in the error envelope (exchange/api/schema.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "exchange.api.schema.schema_complete",
    ],
    # Swagger UI assets ship in a package: the docs page works on an offline network.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

#: Largest request body the publish API and TAXII POST accept, in bytes (answered with 413).
MAX_CONTENT_LENGTH = envint("MAX_CONTENT_LENGTH", 32 * 1024 * 1024)
# Django refuses bodies over this before our parser sees them; keep them in step.
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_CONTENT_LENGTH
#: Most objects one publish request may carry.
MAX_OBJECTS_PER_REQUEST = envint("MAX_OBJECTS_PER_REQUEST", 10_000)
#: Deepest JSON nesting accepted inside one STIX object.
MAX_OBJECT_DEPTH = envint("MAX_OBJECT_DEPTH", 32)
#: Largest single STIX object accepted, in bytes of compact JSON. A signature is a few
#: hundred bytes of properties; an object of megabytes is a mistake or an attack, and every
#: reader would pay for it on every poll.
MAX_OBJECT_BYTES = envint("MAX_OBJECT_BYTES", 1024 * 1024)
#: Page size cap of list endpoints (REST and TAXII).
MAX_PAGE_SIZE = envint("MAX_PAGE_SIZE", 1000)

# --- TAXII 2.1 (docs/taxii.md) ----------------------------------------------------------------

#: API roots served under SITE_URL (TAXII 2.1 section 4.2); the first is discovery's default.
#: Collections are assigned to one of them by ``Collection.api_root``.
TAXII_API_ROOTS = envlist("TAXII_API_ROOTS", "feed")
TAXII_TITLE = env("TAXII_TITLE", "AI-ISAC Exchange")
TAXII_CONTACT = env("TAXII_CONTACT")

# --- Celery (https://docs.celeryq.dev/en/stable/userguide/configuration.html) ----------------

CELERY_BROKER_URL = env("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL == "filesystem://":
    # The embedded broker: kombu's filesystem transport needs no server, which keeps the
    # README's one-command start honest on a bare machine.
    _broker_dir = DATA_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        # Broadcast (pidbox) messages; the transport's default is a folder in the cwd.
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A broker outage (docs/operations.md, "Broker outage"): the worker retries for as long as
# it lasts instead of giving up after 100 tries, and cancels the tasks it was running when
# the connection went; with acks_late they were never acknowledged, so the broker delivers
# them again (every task is safe to run twice).
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")

# --- Fan-out (docs/fanout.md) ---------------------------------------------------------------

#: The fan-out heartbeat (CELERY_BEAT_SCHEDULE below): it drains the outbox and re-queues
#: any subscription whose pump was lost (dead worker, broker outage). Publishes also queue it
#: at once, so this interval bounds the delay only when that kick was lost.
FANOUT_HEARTBEAT_MS = envint("FANOUT_HEARTBEAT_MS", 1000)
#: Allow plain http:// webhook and TAXII push URLs to any host (tests; DEBUG allows it too).
FANOUT_ALLOW_HTTP = envbool("FANOUT_ALLOW_HTTP", "false")
#: Attempts before a delivery is dead-lettered.
FANOUT_MAX_ATTEMPTS = envint("FANOUT_MAX_ATTEMPTS", 10)
FANOUT_BACKOFF_BASE_MS = envint("FANOUT_BACKOFF_BASE_MS", 1000)
FANOUT_BACKOFF_MAX_MS = envint("FANOUT_BACKOFF_MAX_MS", 300_000)
#: The longest Retry-After honoured; a larger one is cut to this.
FANOUT_RETRY_AFTER_MAX_MS = envint("FANOUT_RETRY_AFTER_MAX_MS", 3_600_000)
FANOUT_CONNECT_TIMEOUT_MS = envint("FANOUT_CONNECT_TIMEOUT_MS", 3000)
FANOUT_READ_TIMEOUT_MS = envint("FANOUT_READ_TIMEOUT_MS", 10_000)
#: A sender's hold on a subscription; must outlast one attempt (a TAXII push makes two
#: requests), as a sender that outlives its lease may overlap the next one.
FANOUT_LEASE_SECONDS = envint("FANOUT_LEASE_SECONDS", 60)
#: How long a queued pump is trusted to run before the heartbeat queues another.
FANOUT_KICK_TTL_SECONDS = envint("FANOUT_KICK_TTL_SECONDS", 30)
#: Undelivered objects after which a subscription is paused (with the reason recorded).
FANOUT_MAX_BACKLOG = envint("FANOUT_MAX_BACKLOG", 100_000)
FANOUT_MAX_BATCH = envint("FANOUT_MAX_BATCH", 1000)
#: Outbox entries matched per dispatcher transaction.
FANOUT_DISPATCH_BATCH = envint("FANOUT_DISPATCH_BATCH", 1000)
#: Deliveries one pump run sends before it yields its worker to other subscriptions.
FANOUT_PUMP_ROUNDS = envint("FANOUT_PUMP_ROUNDS", 20)
#: Dispatched outbox entries and delivered deliveries are kept this long (dead letters stay).
FANOUT_RETENTION_HOURS = envint("FANOUT_RETENTION_HOURS", 168)

# --- Limits (docs/taxii.md and docs/api.md, "Limits") ---------------------------------------

#: The most bytes of stored objects one page (TAXII or REST) carries. A page stops before
#: the object that would pass it, with more/next, and always serves at least one object.
MAX_PAGE_BYTES = envint("MAX_PAGE_BYTES", 4 * 1024 * 1024)
#: Requests one member may make per minute (a fixed window), and may have in progress at
#: once; 0 turns a limit off. A member's own values (Member.rate_limit_per_minute,
#: Member.concurrency_limit) win over these. Answered with 429 and Retry-After.
RATE_LIMIT_PER_MINUTE = envint("RATE_LIMIT_PER_MINUTE", 600)
CONCURRENCY_LIMIT = envint("CONCURRENCY_LIMIT", 4)
#: How long a request's concurrency slot is held at most: a worker killed mid-request cannot
#: release its slot, which then frees itself after this. Keep it above gunicorn's --timeout.
CONCURRENCY_SLOT_SECONDS = envint("CONCURRENCY_SLOT_SECONDS", 120)
#: Where the counters live. With Redis every web worker process shares them; without it
#: (the laptop default) each process counts on its own, so the effective limits are
#: multiplied by the number of worker processes.
LIMITS_REDIS_URL = env(
    "LIMITS_REDIS_URL",
    CELERY_BROKER_URL if CELERY_BROKER_URL.startswith(("redis://", "rediss://")) else "",
)
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "limits": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": LIMITS_REDIS_URL,
            "KEY_PREFIX": "limits",
        }
        if LIMITS_REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "limits"}
    ),
}
REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] = ["exchange.throttling.MemberThrottle"]
#: A TAXII Add Objects of more objects than this is stored and published by a Celery task:
#: the answer is 202 at once with a ``pending`` status (TAXII 2.1 section 4.3).
TAXII_ASYNC_OBJECTS = envint("TAXII_ASYNC_OBJECTS", 100)
#: A pending status untouched for this long is queued again, when its owner reads it or by
#: the periodic sweep (its task was lost with the broker or its worker); also the lease of a
#: task working on it.
TAXII_ASYNC_STALE_SECONDS = envint("TAXII_ASYNC_STALE_SECONDS", 300)

#: How often the console's search index merges what publishes appended to it.
CONSOLE_SEARCH_SETTLE_SECONDS = envint("CONSOLE_SEARCH_SETTLE_SECONDS", 30)

#: How often the worker recounts the pool for the dashboard and the queue's corroboration
#: sort when it changed (exchange/console/services/pool_counts.py).
CONSOLE_COUNT_SECONDS = envint("CONSOLE_COUNT_SECONDS", 30)
#: A pool whose last count took at most this long is recounted by the page that finds it
#: changed, so small exchanges are never behind.
CONSOLE_COUNT_INLINE_SECONDS = float(env("CONSOLE_COUNT_INLINE_SECONDS", "0.5"))

# --- Periodic tasks (run by the worker's --beat; one beat per deployment) --------------------

#: Expired copies are dropped, so a worker back from an outage does not run a backlog.
CELERY_BEAT_SCHEDULE = {
    # Every FANOUT_HEARTBEAT_MS: dispatch the outbox and restart lost subscription pumps.
    "fanout-heartbeat": {
        "task": "fanout.dispatch",
        "schedule": FANOUT_HEARTBEAT_MS / 1000,
        "options": {"expires": max(5.0, 5 * FANOUT_HEARTBEAT_MS / 1000)},
    },
    # Every half TAXII_ASYNC_STALE_SECONDS: queue again the large Add Objects requests whose
    # task was lost, so one is finished within 1.5 times that even if nobody reads its status.
    "taxii-status-sweep": {
        "task": "taxii.status_sweep",
        "schedule": max(1.0, TAXII_ASYNC_STALE_SECONDS / 2),
        "options": {"expires": max(5.0, TAXII_ASYNC_STALE_SECONDS / 2)},
    },
    # Every CONSOLE_SEARCH_SETTLE_SECONDS: merge what publishes appended to the console's
    # search index (exchange/console/migrations/0005), so that no publish has to.
    "console-search-index-settle": {
        "task": "console.search_index_settle",
        "schedule": float(CONSOLE_SEARCH_SETTLE_SECONDS),
        "options": {"expires": float(CONSOLE_SEARCH_SETTLE_SECONDS)},
    },
    # Every CONSOLE_COUNT_SECONDS: recount the pool for the dashboard, if it changed.
    "console-pool-count": {
        "task": "console.pool_count",
        "schedule": float(CONSOLE_COUNT_SECONDS),
        "options": {"expires": float(CONSOLE_COUNT_SECONDS)},
    },
}

# --- Observability (docs/operations.md) ------------------------------------------------------

#: The bearer token a Prometheus scraper sends to /metrics; when empty, /metrics answers 404.
METRICS_TOKEN = env("METRICS_TOKEN")

# --- Logging --------------------------------------------------------------------------------

#: "json": one JSON object a line (the containers' setting); "plain": for a terminal.
LOG_FORMAT = env("LOG_FORMAT", "plain")
if LOG_FORMAT not in {"json", "plain"}:
    raise ImproperlyConfigured(f"LOG_FORMAT={LOG_FORMAT!r} is not json or plain")
# Celery replaces the root logger's handlers with its own format unless told not to; with
# JSON logs the worker and beat write through LOGGING below like the web server.
CELERY_WORKER_HIJACK_ROOT_LOGGER = LOG_FORMAT != "json"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "exchange.observability.jsonlog.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {
        # Request lines would carry Basic credentials if a proxy logged them; Django's own
        # request logger only logs paths, but keep it at WARNING to stay quiet.
        "django.request": {"level": "WARNING"},
    },
}
