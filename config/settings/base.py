"""Settings for every environment, read from the process environment through django-environ.

Nothing here has a production default for a secret: `SECRET_KEY`, `LCRYPTO_ENCRYPT_SECRET_KEY`
and `LCRYPTO_HASH_SECRET_KEY` must be set (the `make run` target generates development values
once into a git-ignored `.env`). `.env.example` lists every variable read below.
"""

import datetime as dt
import logging
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from crm.db.config import database_url_config, split_database_urls

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
if not env.bool("CRM_IGNORE_DOTENV", default=False):  # the test settings ignore a local .env
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# The environment's label (the back-office header) and its kind: `development` (what `make run`'s
# generated .env sets) silences the production-only warnings (crm.access.checks); anything else,
# unset included, is treated as production so that a deployment never loses them by omission.
ENV_NAME = env.str("ENV_NAME", default="production")
DEBUG = env.bool("DEBUG", default=False)
VERSION = env.str("VERSION", default="1.0.0")

SECRET_KEY = env.str("SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# An admin page for a refused admin form; the API's JSON error elsewhere.
CSRF_FAILURE_VIEW = "crm.api.views.csrf_failure"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "corsheaders",
    "axes",
    # Country codes and their names in every language (no model field: an address is stored
    # inside an encrypted JSON column); installed for its translations.
    "django_countries",
    "crm",
    "holders.apps.HoldersConfig",
    "aliases.apps.AliasesConfig",
    "registry",
    "events",
    "staff.apps.StaffConfig",
]

MIDDLEWARE = [
    "crm.api.middleware.SecurityHeadersMiddleware",  # outermost: on every response, errors too
    "crm.api.middleware.RequestIdMiddleware",
    "crm.api.middleware.ErrorContractMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The back-office speaks English and Brazilian Portuguese: the browser's Accept-Language
    # picks one (LANGUAGES below) under /admin/ only; the API always answers in English.
    "crm.admin.locale.BackOfficeLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # A control character in an admin query string: a 400 page, not a 500 (crm/admin/errors.py)
    "crm.admin.errors.UnsearchableQueryMiddleware",
    # A row no configured key decrypts: shown and marked on admin pages (crm/admin/unreadable.py)
    "crm.admin.unreadable.UnreadableRowsMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "crm.lifecycle.audit.AuditActorMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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

# --- Database ---------------------------------------------------------------------------------
# SQLite file by default (embedded, zero set-up); PostgreSQL 15+ in production via DATABASE_URL,
# which may list the servers of a highly available cluster, libpq's multi-host form
# (postgres://u@h1:5432,h2:5432/crm; crm/db/config.py, docs/high-availability.md).
DATABASES = {
    "default": database_url_config(
        env.str("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Fail fast when the database is down *or frozen* (docs/api.md §6): every wait is bounded.
    # - connect_timeout: a new connection (the only bound libpq enforces on a frozen server).
    # - statement_timeout / lock_timeout: the server ends slow statements and lock waits itself;
    #   idle_in_transaction_session_timeout frees the locks of a client that vanished mid-way.
    # - keepalives + tcp_user_timeout: the kernel drops connections to a host that stopped
    #   acknowledging (network partition, dead host); they cannot detect a frozen server, whose
    #   kernel still acknowledges everything.
    # - client_timeout (crm.db.postgresql): the client's own bound on every wait for the server,
    #   the one that ends a query on a frozen server; health_check_timeout bounds the SELECT 1
    #   run before a persistent connection is reused. Past them: 503 CRM-0907.
    # - server_side_binding: values travel as bind parameters, never interpolated into the SQL
    #   text, so the server never logs them with a failed statement (docs/api.md §7).
    # - prepared_writes (crm.db.postgresql): the services' fixed-shape INSERTs are prepared on the
    #   server once per connection. Behind PgBouncer in transaction mode: PgBouncer 1.22+ with
    #   max_prepared_statements, or DB_PREPARED_WRITES=false.
    # - target_session_attrs=read-write (unless the URL says otherwise): of the hosts listed,
    #   a new connection goes to the one that accepts writes, so after a failover connections
    #   find the new primary by themselves; a node that became read-only is refused.
    # Set DB_STATEMENT_TIMEOUT_MS=0 (and DB_CLIENT_TIMEOUT_MS=0) for long maintenance runs, e.g.
    # a migration that builds an index on a large table.
    DATABASES["default"]["ENGINE"] = "crm.db.postgresql"
    DB_STATEMENT_TIMEOUT_MS = env.int("DB_STATEMENT_TIMEOUT_MS", default=5000)
    DB_CLIENT_TIMEOUT_MS = env.int(
        "DB_CLIENT_TIMEOUT_MS",
        default=DB_STATEMENT_TIMEOUT_MS + 1000 if DB_STATEMENT_TIMEOUT_MS else 0,
    )
    _server_settings = {
        "statement_timeout": DB_STATEMENT_TIMEOUT_MS,
        "lock_timeout": env.int("DB_LOCK_TIMEOUT_MS", default=3000),
        "idle_in_transaction_session_timeout": env.int(
            "DB_IDLE_IN_TRANSACTION_TIMEOUT_MS", default=30000
        ),
    }
    for _name, _value in {
        "connect_timeout": env.int("DB_CONNECT_TIMEOUT", default=3),
        "options": " ".join(f"-c {name}={value}" for name, value in _server_settings.items()),
        "keepalives": 1,
        "keepalives_idle": env.int("DB_KEEPALIVES_IDLE", default=30),
        "keepalives_interval": env.int("DB_KEEPALIVES_INTERVAL", default=5),
        "keepalives_count": env.int("DB_KEEPALIVES_COUNT", default=3),
        "tcp_user_timeout": env.int("DB_TCP_USER_TIMEOUT_MS", default=10000),
        "client_timeout": DB_CLIENT_TIMEOUT_MS / 1000,
        "health_check_timeout": env.int("DB_HEALTH_CHECK_TIMEOUT_MS", default=1000) / 1000,
        "health_check_idle_seconds": env.int("DB_HEALTH_CHECK_IDLE_MS", default=1000) / 1000,
        "server_side_binding": True,
        "prepared_writes": env.bool("DB_PREPARED_WRITES", default=True),
        "target_session_attrs": "read-write",
    }.items():
        DATABASES["default"].setdefault("OPTIONS", {}).setdefault(_name, _value)
    # Persistent, health-checked connections (3.4x throughput of per-request connections).
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite: `PRAGMA optimize` as each connection closes keeps the planner's statistics fresh
    # (crm/db/sqlite/base.py); Django itself never analyses.
    DATABASES["default"]["ENGINE"] = "crm.db.sqlite"
    # SQLite: writers queue behind one another (IMMEDIATE transactions + busy timeout) instead
    # of failing with "database is locked" under concurrent requests.
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault("timeout", 5)
    DATABASES["default"]["OPTIONS"].setdefault("transaction_mode", "IMMEDIATE")

# --- Read replicas ----------------------------------------------------------------------------
# Hot standbys of the primary (comma-separated URLs): the registry's GET reads go to one of them
# while its replay lag is within DATABASE_REPLICA_MAX_LAG_SECONDS; writes, reads inside a
# transaction and reads by a caller that wrote in the last DATABASE_REPLICA_STICKY_SECONDS stay
# on the primary (crm/db/replicas.py, docs/scaling.md). None configured: one database, as before.
# A replica URL may list several hosts (postgres://u@h1,h2/crm?target_session_attrs=prefer-standby:
# a standby when one is up); the commas inside it do not separate URLs.
DATABASE_REPLICA_URLS = split_database_urls(env.str("DATABASE_REPLICA_URLS", default=""))
DATABASE_REPLICA_MAX_LAG_SECONDS = env.float("DATABASE_REPLICA_MAX_LAG_SECONDS", default=2.0)
DATABASE_REPLICA_CHECK_SECONDS = env.float("DATABASE_REPLICA_CHECK_SECONDS", default=1.0)
DATABASE_REPLICA_STICKY_SECONDS = env.float(
    "DATABASE_REPLICA_STICKY_SECONDS",
    default=DATABASE_REPLICA_MAX_LAG_SECONDS + DATABASE_REPLICA_CHECK_SECONDS,
)
DATABASE_REPLICA_ALIASES: list[str] = []
for _number, _url in enumerate(DATABASE_REPLICA_URLS, start=1):
    _replica = database_url_config(_url)
    _replica["ENGINE"] = DATABASES["default"]["ENGINE"]  # crm.db.postgresql: the same bounds
    # The primary's options, but not its target_session_attrs (read-write: no standby is).
    _inherited = {
        name: value
        for name, value in DATABASES["default"].get("OPTIONS", {}).items()
        if name != "target_session_attrs"
    }
    _replica["OPTIONS"] = {**_inherited, **_replica.get("OPTIONS", {})}
    for _name in ("CONN_MAX_AGE", "CONN_HEALTH_CHECKS"):
        if _name in DATABASES["default"]:
            _replica[_name] = DATABASES["default"][_name]
    _replica["TEST"] = {"MIRROR": "default"}  # a test run never creates a database there
    DATABASES[f"replica{_number}"] = _replica
    DATABASE_REPLICA_ALIASES.append(f"replica{_number}")
if DATABASE_REPLICA_ALIASES:
    DATABASE_ROUTERS = ["crm.db.replicas.ReplicaRouter"]
    MIDDLEWARE = [*MIDDLEWARE, "crm.db.replicas.ReplicaMiddleware"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="en")
LANGUAGES = [("en", "English"), ("pt-br", "Português (Brasil)")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
# Dates in ISO 8601 in every language (config/formats/<lang>/formats.py: a locale's own formats
# take precedence over DATE_FORMAT and friends, so each language gets the ISO ones).
FORMAT_MODULE_PATH = ["config.formats"]
DATE_FORMAT = "Y-m-d"
DATETIME_FORMAT = "Y-m-d H:i:s"
SHORT_DATE_FORMAT = "Y-m-d"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# --- Request limits -----------------------------------------------------------------------------
# Bodies over 1 MiB are refused with 413 CRM-0905 (docs/api.md §4).
MAX_REQUEST_BODY_BYTES = env.int("MAX_REQUEST_BODY_BYTES", default=1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BODY_BYTES
MAX_PAGINATION_LIMIT = env.int("MAX_PAGINATION_LIMIT", default=100)
# Related parties one alias may carry (create and PATCH appends together); over it -> 400.
MAX_RELATED_PARTIES = env.int("MAX_RELATED_PARTIES", default=100)
# Per-organization request rate on /v1 (e.g. "600/min"); empty = unlimited. 429 CRM-0906 over it.
API_RATE_LIMIT = env.str("API_RATE_LIMIT", default="")
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}

# --- Encryption at rest and search hashes (docs/api.md §7) ----------------------------------------
# Hex keys, never derived from SECRET_KEY. Previous keys stay readable during a rotation.
LCRYPTO_ENCRYPT_SECRET_KEY = env.str("LCRYPTO_ENCRYPT_SECRET_KEY", default="")
LCRYPTO_PREVIOUS_ENCRYPT_SECRET_KEYS = env.list("LCRYPTO_PREVIOUS_ENCRYPT_SECRET_KEYS", default=[])
LCRYPTO_HASH_SECRET_KEY = env.str("LCRYPTO_HASH_SECRET_KEY", default="")
LCRYPTO_PREVIOUS_HASH_SECRET_KEYS = env.list("LCRYPTO_PREVIOUS_HASH_SECRET_KEYS", default=[])
# Hash keys retired from searches, kept only so `verify_audit` can check the audit entries
# sealed under them (crm/lifecycle/chain.py).
AUDIT_CHAIN_RETIRED_KEYS = env.list("AUDIT_CHAIN_RETIRED_KEYS", default=[])
# The country a phone number written without "+" belongs to (ISO 3166-1 alpha-2), for its
# search hash in E.164 (crm/crypto/search.py). Changing it: `rotate_encryption_keys --hashes`.
PHONE_DEFAULT_REGION = env.str("PHONE_DEFAULT_REGION", default="BR").upper()
# Four eyes on erasure: a hard delete asked for in the admin waits for a second data-protection
# officer's approval (crm/lifecycle/approval.py, docs/admin.md). The API and `manage.py
# hard_delete` erase as before either way.
ERASURE_APPROVAL = env.bool("ERASURE_APPROVAL", default=False)

# --- Access control (docs/api.md §10; crm/access/auth.py, crm/access/access_manager.py) -----------
# Off; our own API tokens (enabled, no address); or the Lerian Access Manager (enabled + address).
PLUGIN_AUTH_ENABLED = env.bool("PLUGIN_AUTH_ENABLED", default=False)
PLUGIN_AUTH_ADDRESS = env.str("PLUGIN_AUTH_ADDRESS", default="")
# Product of the subject and the request: "plugin-crm" (Midaz CRM v3), "midaz" (v4).
PLUGIN_AUTH_PRODUCT = env.str("PLUGIN_AUTH_PRODUCT", default="plugin-crm")
# Our resource -> the Access Manager's name for it (v4: aliases=instruments).
PLUGIN_AUTH_RESOURCES = env.dict(
    "PLUGIN_AUTH_RESOURCES", default={"holders": "holders", "aliases": "aliases"}
)
PLUGIN_AUTH_TIMEOUT_SECONDS = env.float("PLUGIN_AUTH_TIMEOUT_SECONDS", default=2.0)
PLUGIN_AUTH_CACHE_SECONDS = env.int("PLUGIN_AUTH_CACHE_SECONDS", default=10)
PLUGIN_AUTH_MAX_CONNECTIONS = env.int("PLUGIN_AUTH_MAX_CONNECTIONS", default=20)
# Claims naming the organizations a token may touch (beyond the reference; absent = any).
PLUGIN_AUTH_ORGANIZATION_CLAIMS = env.list(
    "PLUGIN_AUTH_ORGANIZATION_CLAIMS",
    default=["organizations", "organizationIds", "organizationId", "organization_id"],
)
# Optional local signature verification of the JWT (empty: parsed unverified, as lib-auth does).
PLUGIN_AUTH_JWKS_URL = env.str("PLUGIN_AUTH_JWKS_URL", default="")
PLUGIN_AUTH_JWKS_CACHE_SECONDS = env.int("PLUGIN_AUTH_JWKS_CACHE_SECONDS", default=300)
PLUGIN_AUTH_JWT_ALGORITHMS = env.list(
    "PLUGIN_AUTH_JWT_ALGORITHMS", default=["RS256", "RS384", "RS512", "PS256", "ES256", "ES384"]
)
PLUGIN_AUTH_JWT_ISSUER = env.str("PLUGIN_AUTH_JWT_ISSUER", default="")
PLUGIN_AUTH_JWT_AUDIENCE = env.str("PLUGIN_AUTH_JWT_AUDIENCE", default="")

# --- Admin login lockout (django-axes) ---------------------------------------------------------
# After AXES_FAILURE_LIMIT failed logins of one username from one address, that pair is locked
# out for AXES_COOLOFF_MINUTES (a 429 page); a success resets the count.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env.float("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# "Address" is the client's: the connection's, or what a TRUSTED_PROXIES proxy reports (never a
# client's own X-Forwarded-For; axes is not left to read the header itself).
AXES_CLIENT_IP_CALLABLE = "crm.access.client_address.client_address"
# The lockout page: the admin's look, in the staff member's language (axes' own is English text).
AXES_LOCKOUT_CALLABLE = "crm.admin.errors.lockout_page"

# --- The client's address (crm/access/client_address.py, docs/operations.md) -------------------
# Networks of the proxies in front of the service (comma-separated CIDRs, e.g. 10.0.0.0/8):
# from them, X-Forwarded-For names the client (lockout, access log). Empty: the connection's
# address is the client's, and X-Forwarded-For is ignored.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])

# --- CORS (django-cors-headers): closed unless origins are listed -----------------------------
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_ALLOW_CREDENTIALS = False
CORS_ALLOW_HEADERS = [
    "authorization",
    "content-type",
    "idempotency-key",
    "if-match",
    "x-idempotency",
    "x-organization-id",
    "x-request-id",
]
CORS_EXPOSE_HEADERS = ["x-request-id", "idempotent-replayed", "retry-after", "etag"]
CORS_URLS_REGEX = r"^/(v1|health|version|readyz)(/.*)?$"

# --- Security headers and HTTPS (behind a TLS-terminating proxy in production) ----------------
# Every response (API, admin, static) carries nosniff, X-Frame-Options: DENY, a strict
# Referrer-Policy and Cross-Origin-Opener-Policy (SecurityMiddleware), and the API's JSON a
# restrictive Content-Security-Policy (crm.api.middleware.SecurityHeadersMiddleware). The README's
# production variables turn on HTTPS redirects, secure cookies and HSTS.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
# Health probes and Prometheus' scrapes come over plain HTTP from inside the cluster.
SECURE_REDIRECT_EXEMPT = [r"^health$", r"^readyz$", r"^version$", r"^metrics$"]
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=False)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=False)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# --- Django REST framework --------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["crm.api.parsers.StrictJSONParser"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "crm.api.parsers.JSONOnlyNegotiation",
    "DEFAULT_AUTHENTICATION_CLASSES": ["crm.access.auth.ApiTokenAuthentication"],
    # In this order: the organization, malformed path ids (400), then the token's rights.
    "DEFAULT_PERMISSION_CLASSES": [
        "crm.api.tenancy.OrganizationHeader",
        "crm.api.tenancy.UUIDPathParameters",
        "crm.access.auth.HasResourcePermission",
    ],
    "DEFAULT_FILTER_BACKENDS": ["crm.api.filters.RegistryFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "crm.api.pagination.PagePagination",
    "EXCEPTION_HANDLER": "crm.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_THROTTLE_CLASSES": ["crm.api.throttling.OrganizationRateThrottle"],
}

SPECTACULAR_SETTINGS = {
    "TITLE": env.str("SWAGGER_TITLE", default="CRM API"),
    "DESCRIPTION": env.str(
        "SWAGGER_DESCRIPTION",
        default="Customer registry: Holders and Alias Accounts (Midaz CRM v3 compatible).",
    ),
    "VERSION": VERSION,
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Enums whose field name another enum also uses (`type`: a holder's, a version's actor's),
    # named by hand so that none is named after a hash and the holder's keeps its name.
    "ENUM_NAME_OVERRIDES": {
        "TypeEnum": "holders.models.HolderType.values",
        "ActorTypeEnum": "crm.lifecycle.audit.ACTOR_TYPES",
        "VersionActionEnum": "crm.api.history.VERSION_ACTIONS",
    },
    "POSTPROCESSING_HOOKS": [
        "crm.api.openapi.complete_document",
        "drf_spectacular.hooks.postprocess_schema_enums",
        "crm.api.openapi.strip_optional_trailing_slash",
    ],
    "TAGS": [
        {"name": "Holders", "description": "Natural and legal persons, keyed by a document."},
        {"name": "Alias accounts", "description": "Links from a holder to a ledger account."},
        {"name": "Operations", "description": "Public health, version and readiness checks."},
    ],
}

# --- Logging: one line per event to stdout, request id attached, never personal data ----------
# The access log is crm.api.middleware.RequestIdMiddleware's line (method, route template, status,
# duration, organization, client address); the servers' own access logs print the query string,
# which carries documents: gunicorn's is off (config/gunicorn.conf.py) and so is runserver's
# (`django.server`).
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO").upper()
# `text` (default): one line per event; `json`: one JSON object per line (crm/api/log_format.py).
LOG_FORMAT = env.str("LOG_FORMAT", default="text").lower()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "crm.api.middleware.RequestIdLogFilter"},
        # `trace_id` (hex, None outside a span or with telemetry off) for formatters to print.
        "trace_id": {"()": "crm.observability.tracing.TraceIdLogFilter"},
        "route_only": {"()": "crm.api.middleware.RequestIdMiddleware.RouteOnlyFilter"},
    },
    "formatters": {
        "line": {
            "format": "%(asctime)s %(levelname)s %(name)s request_id=%(request_id)s %(message)s"
        },
        "json": {"()": "crm.api.log_format.JsonLineFormatter"},
    },
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": "json" if LOG_FORMAT == "json" else "line",
            "filters": ["request_id", "trace_id"],
        },
        "discard": {"class": "logging.NullHandler"},
    },
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {
        # At DEBUG Django's template engine logs every unresolved variable with the template
        # context, which holds the record on the page (a name, a document): never below INFO.
        "django.template": {"level": "INFO"},
        # Django logs 4xx/5xx with the request path; our middleware logs one line per request.
        # 5xx stay (with the route template in place of the path, never the query string).
        "django.request": {
            "level": "ERROR",
            "handlers": ["stdout"],
            "filters": ["route_only"],
            "propagate": False,
        },
        # runserver's "GET /v1/holders?document=... 200" (and its echo of malformed request
        # lines): dropped, the middleware's line replaces it.
        "django.server": {"handlers": ["discard"], "propagate": False},
    },
}

if LOG_FORMAT == "json":
    # Python's warnings print themselves to stderr as text; as log records (`py.warnings`)
    # they are JSON lines like the rest.
    logging.captureWarnings(True)

# --- Idempotency (docs/api.md §6 "Retries are safe"; crm/api/idempotency.py) ----------------------
# How long an Idempotency-Key is remembered (a retry after that runs as a new request), and how
# long a request still running may hold its key before a retry takes it over, where its
# database session cannot be checked (SQLite, a transaction pooler): on PostgreSQL a retry
# takes over at once the key of a session that is gone (crm/db/sessions.py).
IDEMPOTENCY_TTL_SECONDS = env.int("IDEMPOTENCY_TTL_SECONDS", default=24 * 60 * 60)
IDEMPOTENCY_IN_PROGRESS_TIMEOUT_SECONDS = env.int(
    "IDEMPOTENCY_IN_PROGRESS_TIMEOUT_SECONDS", default=120
)

# --- Change events (events/, docs/events.md) -----------------------------------------------------
# Off by default. On: every write appends its CloudEvent to the outbox in its own transaction;
# `manage.py relay_events` publishes the outbox to RabbitMQ (a durable topic exchange).
EVENTS_ENABLED = env.bool("EVENTS_ENABLED", default=False)
EVENTS_BROKER_URL = env.str("EVENTS_BROKER_URL", default="")
EVENTS_EXCHANGE = env.str("EVENTS_EXCHANGE", default="crm.events")
EVENTS_RETENTION_HOURS = env.float("EVENTS_RETENTION_HOURS", default=168.0)

# --- Metrics (crm/observability/, docs/operations.md "Metrics") ---------------------------------
# Off by default. On: `/metrics` in Prometheus' format behind the bearer token METRICS_TOKEN
# (required, 32+ characters, unless DEBUG), summed over gunicorn's workers; the relay serves its
# own counters on METRICS_RELAY_HOST:METRICS_RELAY_PORT (0: no listener) behind the same token.
METRICS_ENABLED = env.bool("METRICS_ENABLED", default=False)
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# Puts the organization id on crm_requests_total: one series per organization that calls.
METRICS_ORGANIZATION_LABELS = env.bool("METRICS_ORGANIZATION_LABELS", default=False)
METRICS_RELAY_HOST = env.str("METRICS_RELAY_HOST", default="127.0.0.1")
METRICS_RELAY_PORT = env.int("METRICS_RELAY_PORT", default=0)
if METRICS_ENABLED:
    # Inside the request id, outside the error contract: it counts the status the client gets.
    MIDDLEWARE = list(MIDDLEWARE)
    MIDDLEWARE.insert(
        MIDDLEWARE.index("crm.api.middleware.RequestIdMiddleware") + 1,
        "crm.observability.middleware.MetricsMiddleware",
    )

# --- Traces (crm/observability/, docs/operations.md "Traces") ------------------------------------
# OpenTelemetry, off by default, with Midaz's variable names. On: spans for each request, its
# database calls and Access Manager call, and the relay's publishes, exported over OTLP to
# OTEL_EXPORTER_OTLP_ENDPOINT (`host:4317` without a scheme is plaintext, as in Midaz's
# .env.example). Off: the tracing middleware is not installed and OpenTelemetry never imported.
ENABLE_TELEMETRY = env.bool("ENABLE_TELEMETRY", default=False)
OTEL_RESOURCE_SERVICE_NAME = env.str("OTEL_RESOURCE_SERVICE_NAME", default="crm")
OTEL_RESOURCE_SERVICE_VERSION = env.str("OTEL_RESOURCE_SERVICE_VERSION", default=VERSION)
OTEL_RESOURCE_DEPLOYMENT_ENVIRONMENT = env.str(
    "OTEL_RESOURCE_DEPLOYMENT_ENVIRONMENT", default=ENV_NAME
)
OTEL_EXPORTER_OTLP_ENDPOINT = env.str("OTEL_EXPORTER_OTLP_ENDPOINT", default="")
OTEL_EXPORTER_OTLP_PROTOCOL = env.str("OTEL_EXPORTER_OTLP_PROTOCOL", default="grpc")
if ENABLE_TELEMETRY:
    if OTEL_EXPORTER_OTLP_PROTOCOL not in ("grpc", "http/protobuf"):
        raise ImproperlyConfigured(
            "OTEL_EXPORTER_OTLP_PROTOCOL must be grpc or http/protobuf, "
            f"not {OTEL_EXPORTER_OTLP_PROTOCOL!r}."
        )
    # Outermost: the request's span covers every other middleware and the access-log line.
    MIDDLEWARE = ["crm.observability.middleware.TracingMiddleware", *MIDDLEWARE]

from crm.access.settings_checks import check_required_secrets  # noqa: E402

check_required_secrets(globals())
