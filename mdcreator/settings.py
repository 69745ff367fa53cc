"""Settings for the MD Creator backend.

Every deployment setting comes from the environment (SPEC §0.1). With no
variable set the embedded default runs: SQLite, the in-memory channel layer,
local-memory cache, files on local disk and console email.
"""

import os
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from mdcreator import keys

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# --- core -------------------------------------------------------------------
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
FRONTEND_URL = env.str("FRONTEND_URL", default="http://localhost:5173").rstrip("/")

TAURI_ORIGINS = ["tauri://localhost", "http://tauri.localhost"]
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=["http://localhost:5173"]) + TAURI_ORIGINS
CORS_ALLOW_HEADERS = (
    "accept",
    "authorization",
    "content-type",
    "if-match",
    "if-none-match",
    "x-request-id",
    "x-share-token",
)
CORS_EXPOSE_HEADERS = ("etag", "location", "retry-after", "x-request-id")
CORS_URLS_REGEX = r"^/(api|healthz|readyz).*$"

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "corsheaders",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "guardian",
    "channels",
    "mozilla_django_oidc",
    "accounts",
    "workspaces",
    "documents",
    "collab",
    "sync",
]

MIDDLEWARE = [
    "mdcreator.middleware.RequestIdMiddleware",
    "mdcreator.middleware.ProblemResponseMiddleware",
    "mdcreator.middleware.BodySizeLimitMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files from the application (under daphne too), with the security headers above.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "mdcreator.urls"
ASGI_APPLICATION = "mdcreator.asgi.application"
WSGI_APPLICATION = None
CSRF_FAILURE_VIEW = "mdcreator.views.csrf_failure"

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
                "accounts.oidc_admin.sso_context",
            ],
        },
    },
]

# --- engines ----------------------------------------------------------------
VAR_DIR = Path(env.str("MDCREATOR_VAR_DIR", default=str(BASE_DIR / "var")))
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
IS_POSTGRES = DATABASES["default"]["ENGINE"].endswith("postgresql")

# --- signing keys (decision 41): from the environment, or generated under var/ by the embedded default
if IS_POSTGRES:
    keys.require_production_keys(dict(os.environ))
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="").strip() or keys.embedded_secret(VAR_DIR)
JWT_SIGNING_KEY = env.str("JWT_SIGNING_KEY", default="").strip() or keys.derived_jwt_key(SECRET_KEY)

if IS_POSTGRES:
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    if env.bool("DATABASE_POOL", default=True):
        # Django's backend, with the pool's health check skipped for connections in use a moment ago.
        DATABASES["default"]["ENGINE"] = "mdcreator.postgresql"
        # One pool per process: request threads, consumers and the collab writers borrow a connection
        # and give it back, instead of opening one (a few milliseconds, more under load) every time.
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": env.int("DATABASE_POOL_MIN_SIZE", default=2),
            "max_size": env.int("DATABASE_POOL_MAX_SIZE", default=20),
            "timeout": env.float("DATABASE_POOL_TIMEOUT", default=5.0),
        }
    else:
        # Under ASGI every request runs in a thread of its own: persistent connections would pile up.
        DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=0))
else:
    DATABASES["default"].setdefault("OPTIONS", {}).update({"timeout": 20, "transaction_mode": "IMMEDIATE"})
    VAR_DIR.mkdir(parents=True, exist_ok=True)  # the embedded default keeps its SQLite file here

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "mdcreator.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="mdc"),
        }
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # Reads must outlast channels_redis's 5 s BZPOPMIN: with redis-py's default 5 s socket
                # timeout, every consumer idle for 5 s died on a read timeout (its socket closed 1011).
                "hosts": [{"address": REDIS_URL, "socket_timeout": 15, "max_connections": 1000}],
                "prefix": env.str("CHANNEL_LAYER_PREFIX", default="mdc-asgi"),
                # A room's channel receives every update of its document; rooms repair gaps from the database.
                "capacity": 5000,
                "expiry": 30,
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "mdcreator.cache.LocMemCache", "LOCATION": "mdcreator"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"capacity": 5000}}}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
# User.email is unique through a case-insensitive constraint, which this check cannot see.
SILENCED_SYSTEM_CHECKS = ["auth.W004"]

# --- auth -------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "accounts.passwords.PasswordPolicyValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ("email", "username", "display_name")},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
ANONYMOUS_USER_NAME = None  # guardian: no anonymous user row

JWT_ISSUER = env.str("JWT_ISSUER", default="mdcreator")
JWT_AUDIENCE = "mdcreator-api"
ACCESS_TOKEN_LIFETIME = timedelta(minutes=15)
REFRESH_TOKEN_LIFETIME = timedelta(days=30)
REFRESH_FAMILY_LIFETIME = timedelta(days=90)
REFRESH_REUSE_GRACE = timedelta(seconds=10)
FAMILY_REVOCATION_CACHE_SECONDS = 30
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])

ACCOUNTS_EMAIL_CONFIRMATION = env.bool("ACCOUNTS_EMAIL_CONFIRMATION", default=True)
ACCOUNTS_SIGNUP_ENABLED = env.bool("ACCOUNTS_SIGNUP_ENABLED", default=True)

# --- OIDC (Cognito in production) ------------------------------------------
OIDC_ISSUER = env.str("OIDC_ISSUER", default="").rstrip("/")
OIDC_ENABLED = bool(OIDC_ISSUER)
OIDC_RP_CLIENT_ID = env.str("OIDC_RP_CLIENT_ID", default="")
OIDC_RP_CLIENT_SECRET = env.str("OIDC_RP_CLIENT_SECRET", default="")
OIDC_RP_SIGN_ALGO = env.str("OIDC_RP_SIGN_ALGO", default="RS256")
OIDC_RP_SCOPES = env.str("OIDC_RP_SCOPES", default="openid email profile")
OIDC_STAFF_GROUP = env.str("OIDC_STAFF_GROUP", default="")
OIDC_GROUPS_CLAIM = env.str("OIDC_GROUPS_CLAIM", default="cognito:groups")
OIDC_DESKTOP_REDIRECT_URI = "mdcreator://auth/callback"
OIDC_LEEWAY_SECONDS = 60
OIDC_JWKS_CACHE_SECONDS = 3600
OIDC_HTTP_TIMEOUT = env.float("OIDC_HTTP_TIMEOUT", default=5.0)
# mozilla-django-oidc reads its endpoints from the issuer's discovery document
# (accounts.oidc_admin); these names only exist for its import-time checks.
OIDC_OP_AUTHORIZATION_ENDPOINT = OIDC_ISSUER + "/authorize"
OIDC_OP_TOKEN_ENDPOINT = OIDC_ISSUER + "/token"
OIDC_OP_USER_ENDPOINT = OIDC_ISSUER + "/userinfo"
OIDC_OP_JWKS_ENDPOINT = OIDC_ISSUER + "/jwks"
OIDC_AUTHENTICATE_CLASS = "accounts.oidc_admin.AdminOIDCAuthenticationRequestView"
OIDC_CALLBACK_CLASS = "accounts.oidc_admin.AdminOIDCAuthenticationCallbackView"
OIDC_USE_PKCE = True
OIDC_TIMEOUT = OIDC_HTTP_TIMEOUT
LOGIN_REDIRECT_URL = "/admin/"
LOGOUT_REDIRECT_URL = "/admin/"
LOGIN_URL = "/admin/login/"
if OIDC_ENABLED:
    AUTHENTICATION_BACKENDS.append("accounts.oidc_admin.AdminOIDCAuthenticationBackend")

# --- email ------------------------------------------------------------------
# Requests only queue their messages (after the commit); a background thread of the process delivers them
# through EMAIL_DELIVERY_BACKEND, retrying with backoff (accounts/emails.py). EMAIL_BACKEND (the variable)
# and EMAIL_URL name the delivering backend.
EMAIL_TIMEOUT = env.float("EMAIL_TIMEOUT", default=10.0)  # seconds per SMTP operation: a hung server is a failure
EMAIL_URL = env.str("EMAIL_URL", default="")
if EMAIL_URL:
    _email_url = env.email_url("EMAIL_URL")
    EMAIL_DELIVERY_BACKEND = _email_url.pop("EMAIL_BACKEND")
    vars().update(_email_url)
else:
    EMAIL_DELIVERY_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_BACKEND = "accounts.emails.BackgroundEmailBackend"
EMAIL_SEND_RETRIES = 3
EMAIL_RETRY_BACKOFF_SECONDS = env.float("EMAIL_RETRY_BACKOFF_SECONDS", default=1.0)  # then 2 s, then 4 s
EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default=str(VAR_DIR / "mail"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="MD Creator <no-reply@mdcreator.app>")

# --- rate limits (SPEC §9) --------------------------------------------------
RATE_LIMIT_API = env.str("RATE_LIMIT_API", default="300/minute")
RATE_LIMIT_LOGIN = env.str("RATE_LIMIT_LOGIN", default="10/minute")
RATE_LIMIT_SIGNUP = env.str("RATE_LIMIT_SIGNUP", default="5/hour")
RATE_LIMIT_AI = env.str("RATE_LIMIT_AI", default="20/minute")
RATE_LIMIT_AI_HOURLY = env.str("RATE_LIMIT_AI_HOURLY", default="100/hour")

# --- AI proxy (SPEC §6) -----------------------------------------------------
# Server keys and base URLs under the official SDKs' own names; a provider without a server key serves only
# users who added their own.
OPENAI_API_KEY = env.str("OPENAI_API_KEY", default="")
OPENAI_BASE_URL = env.str("OPENAI_BASE_URL", default="") or None
ANTHROPIC_API_KEY = env.str("ANTHROPIC_API_KEY", default="")
ANTHROPIC_BASE_URL = env.str("ANTHROPIC_BASE_URL", default="") or None
# Allow-lists, the first model of each being the provider's default.
AI_MODELS_OPENAI = env.list("AI_MODELS_OPENAI", default=["gpt-4o-mini", "gpt-4o", "gpt-4.1-mini", "gpt-4.1"])
AI_MODELS_ANTHROPIC = env.list(
    "AI_MODELS_ANTHROPIC", default=["claude-haiku-4-5", "claude-sonnet-4-5", "claude-opus-4-1"]
)
# USD per million tokens, (prompt, completion); a model missing here is costed at 0.
AI_PRICES = env.json("AI_PRICES", default={
    "gpt-4o-mini": [0.15, 0.60], "gpt-4o": [2.50, 10.00], "gpt-4.1-mini": [0.40, 1.60], "gpt-4.1": [2.00, 8.00],
    "claude-haiku-4-5": [1.00, 5.00], "claude-sonnet-4-5": [3.00, 15.00], "claude-opus-4-1": [15.00, 75.00],
})
# Monthly tokens on the server's keys per subscription tier; None is unlimited. Users' own keys have no quota.
AI_MONTHLY_TOKEN_QUOTA = env.json("AI_MONTHLY_TOKEN_QUOTA", default={
    "free": 50_000, "pro": 1_000_000, "team": 5_000_000, "enterprise": None,
})
AI_TIMEOUT_SECONDS = env.float("AI_TIMEOUT_SECONDS", default=120.0)
AI_KEY_VALIDATION_TIMEOUT_SECONDS = env.float("AI_KEY_VALIDATION_TIMEOUT_SECONDS", default=5.0)
AI_STREAM_KEEPALIVE_SECONDS = env.float("AI_STREAM_KEEPALIVE_SECONDS", default=15.0)

# --- storage ----------------------------------------------------------------
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
MEDIA_URL = "/media/"
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
AWS_STORAGE_BUCKET_NAME = env.str("AWS_STORAGE_BUCKET_NAME", default="")
STORAGE_IS_S3 = bool(AWS_STORAGE_BUCKET_NAME)
if STORAGE_IS_S3:
    AWS_S3_ENDPOINT_URL = env.str("AWS_S3_ENDPOINT_URL", default=None)
    # Where browsers reach the store, when not at AWS_S3_ENDPOINT_URL: presigned forms and links name it.
    AWS_S3_PUBLIC_ENDPOINT_URL = env.str("AWS_S3_PUBLIC_ENDPOINT_URL", default=None)
    AWS_S3_REGION_NAME = env.str("AWS_S3_REGION_NAME", default="us-east-1")
    AWS_ACCESS_KEY_ID = env.str("AWS_ACCESS_KEY_ID", default=None)
    AWS_SECRET_ACCESS_KEY = env.str("AWS_SECRET_ACCESS_KEY", default=None)
    AWS_DEFAULT_ACL = None
    AWS_QUERYSTRING_AUTH = True
    AWS_S3_SIGNATURE_VERSION = "s3v4"
    AWS_S3_FILE_OVERWRITE = False
    # A signed CloudFront distribution in front of the bucket (SPEC §7): attachments get a `cdn_url` signed
    # with this key pair (the private key as PEM); unset, `cdn_url` stays null.
    AWS_CLOUDFRONT_DOMAIN = env.str("AWS_CLOUDFRONT_DOMAIN", default="")
    AWS_CLOUDFRONT_KEY_ID = env.str("AWS_CLOUDFRONT_KEY_ID", default="")
    AWS_CLOUDFRONT_KEY = env.str("AWS_CLOUDFRONT_KEY", default="", multiline=True)
    if AWS_CLOUDFRONT_DOMAIN and not (AWS_CLOUDFRONT_KEY_ID and AWS_CLOUDFRONT_KEY):
        raise ImproperlyConfigured(
            "AWS_CLOUDFRONT_DOMAIN is set: AWS_CLOUDFRONT_KEY_ID and AWS_CLOUDFRONT_KEY (PEM) must be set too."
        )
    _default_storage = {"BACKEND": "storages.backends.s3.S3Storage"}
else:
    _default_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
STORAGES = {
    "default": _default_storage,
    # Hashed names and gzip copies written by collectstatic (`make run`, the image), served a year (immutable).
    "staticfiles": {"BACKEND": "mdcreator.staticfiles.StaticFilesStorage"},
}
# Files not collected yet (or in a stale collection) are still found in their apps.
WHITENOISE_USE_FINDERS = True

# --- request limits ---------------------------------------------------------
JSON_BODY_MAX_BYTES = 6 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = JSON_BODY_MAX_BYTES
UPLOAD_BODY_MAX_BYTES = 26 * 1024 * 1024

# --- REST -------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.authentication.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["mdcreator.parsers.StrictJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["mdcreator.renderers.JSONRenderer"],
    "DEFAULT_THROTTLE_CLASSES": ["mdcreator.ratelimit.ApiRateThrottle"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "mdcreator.problems.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "MD Creator API",
    "DESCRIPTION": "Accounts, workspaces, documents, sync and live co-editing for MD Creator.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    # Swagger UI and ReDoc from drf-spectacular-sidecar's pinned copies, served with our static files:
    # the docs page loads nothing from another origin.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # One name per set of role choices (several serializers share them).
    "ENUM_NAME_OVERRIDES": {
        "NonOwnerRoleEnum": "workspaces.serializers.NON_OWNER_ROLES",
        "ClientRoleEnum": ["viewer", "commenter", "editor", "admin", "member"],
        "ShareRoleEnum": "documents.models.DocumentShare.Role",
    },
}

# --- i18n, time -------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- logging ----------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "mdcreator.logging.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(trace_id)s] %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["request_id"]},
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.request": {"level": "ERROR"},
        "django.channels.server": {"level": "WARNING"},
    },
}

# Worker threads of one server process for HTTP requests (mdcreator/handlers.py); each holds at most one
# database connection while it serves a request, so keep it at or below DATABASE_POOL_MAX_SIZE.
HTTP_WORKER_THREADS = env.int("HTTP_WORKER_THREADS", default=16)

# --- transport security -----------------------------------------------------
# Production (PostgreSQL) is reached over HTTPS only: TLS ends at the load balancer or proxy in front of
# daphne, which redirects plain http and sets X-Forwarded-Proto (README, "Production checks"). The embedded
# default serves plain http://localhost, where Secure cookies and HSTS would lock the admin out.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Load balancers in front of daphne that append to X-Forwarded-For (0: use the socket's peer address).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=IS_POSTGRES)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=IS_POSTGRES)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=365 * 24 * 3600 if IS_POSTGRES else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]  # probes of the load balancer speak plain http
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Justified in the README ("Production checks"): security.W008, the proxy redirects http to https (daphne
# itself must answer the proxy's and the probes' plain http); security.W021, HSTS preloading commits the whole
# registrable domain for good, so only its owner turns it on (SECURE_HSTS_PRELOAD=True).
SILENCED_SYSTEM_CHECKS += ["security.W008", "security.W021"]
