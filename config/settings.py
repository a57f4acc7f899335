"""Settings for Keyward, read from the environment.

Every value a deployment may change comes from an environment variable; the
README lists them. Defaults suit local development on SQLite.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from accounts import query_params  # no models: safe to import before Django is set up

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    """Return the environment variable `name` read as a boolean."""
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), not {value!r}.")


def env_int(name: str, default: int) -> int:
    """Return the environment variable `name` read as an integer."""
    value = os.environ.get(name, "")
    try:
        return int(value) if value else default
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}.") from exc


def env_list(name: str, default: list[str]) -> list[str]:
    """Return the comma-separated environment variable `name` as a list."""
    value = os.environ.get(name, "")
    return [item.strip() for item in value.split(",") if item.strip()] if value else default


def env_days(name: str, default: list[int]) -> list[int]:
    """Return the comma-separated environment variable `name` as distinct day counts."""
    days = set()
    for item in env_list(name, [str(day) for day in default]):
        day = query_params.days(item)
        if day is None:
            raise ImproperlyConfigured(
                f"{name} takes day counts from 1 to {query_params.MAX_DAYS}, "
                f"comma-separated, not {item!r}."
            )
        days.add(day)
    return sorted(days, reverse=True)  # largest first, as the README lists them


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY and DEBUG:
    SECRET_KEY = "django-insecure-local-development-only"  # noqa: S105
# Left empty, Django refuses whatever would sign with it (sessions, links), and the web and
# worker processes refuse to start (config.secret_key); commands that sign nothing
# (migrate, makemigrations --check) still run.

# Earlier keys whose signatures (sessions, links) stay valid while a new SECRET_KEY rolls out.
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS", [])

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "ninja",
    "django_tasks_db",
    "accounts",
    "tokens",
    "gateway",
    "ops",
]

MIDDLEWARE = [
    # First: every answer gets a request id, a log line and its metrics, even other
    # middleware's; then the probes and /metrics, before the Host and HTTPS checks.
    "ops.middleware.RequestLogMiddleware",
    "ops.middleware.OpenEndpointsMiddleware",
    # The gateway check: answered here, before the Host and HTTPS checks (gateway/middleware.py).
    "gateway.middleware.GatewayCheckMiddleware",
    # The API's hottest endpoints (whoami, introspect), past the console's middleware.
    "ops.middleware.ApiLaneMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "accounts.middleware.ConsoleSessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "accounts.middleware.ConsoleAuthenticationMiddleware",
    "accounts.middleware.ConsoleMessageMiddleware",
    "accounts.signin.admin_policy.AdminTwoFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "accounts.middleware.ConsoleHtmxMiddleware",
    # The four Console* middleware above let the API's requests through untouched
    # (accounts/middleware.py). Last: the first to see a view's exception (database down -> 503).
    "ops.middleware.DatabaseUnavailableMiddleware",
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
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.console",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        # Off by default: a health check is a hidden query at the start of every request.
        conn_health_checks=env_bool("DATABASE_CONN_HEALTH_CHECKS", False),
    )
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The cache every worker process shares: the limits (sign-in, emails, failed token
# lookups) count in it, so they hold across processes and machines. Redis with
# REDIS_URL; otherwise a table in the database (migrate creates it). A dead or hung
# Redis must cost a request milliseconds: short timeouts (its answers take well
# under one), one reconnect for a connection Redis dropped (a restart), none after
# a timeout, then accounts.shared_cache stops asking for a second.
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    from redis.backoff import NoBackoff
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.retry import Retry

    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {
                "socket_connect_timeout": 0.25,
                "socket_timeout": 0.25,
                "retry": Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
            },
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "keyward_cache",
            # Past MAX_ENTRIES Django culls rows, live limit counters among them; each
            # write counts the rows, still cheap at this size.
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        }
    }

# Background work (Django's Tasks framework): emails and other side effects.
# Inline unless a deployment sets KEYWARD_TASKS=database (then `manage.py run_worker` runs them).
TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
if os.environ.get("KEYWARD_TASKS", "") == "database":
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
# `manage.py run_worker` records that it is alive this often; /readyz wants a recent beat.
KEYWARD_WORKER_HEARTBEAT_SECONDS = env_int("KEYWARD_WORKER_HEARTBEAT_SECONDS", 5)
KEYWARD_WORKER_HEARTBEAT_MAX_AGE = env_int("KEYWARD_WORKER_HEARTBEAT_MAX_AGE", 60)
# A task RUNNING this long whose worker is silent for the max age above was abandoned (the
# worker was killed): each worker, and the hourly requeue_abandoned_tasks, queue it again.
KEYWARD_TASK_REQUEUE_AFTER = env_int("KEYWARD_TASK_REQUEUE_AFTER", 300)

AUTH_USER_MODEL = "accounts.User"
# The sign-in limit comes first: it refuses before any backend checks a credential.
AUTHENTICATION_BACKENDS = [
    "accounts.signin_limit.SignInLimitBackend",
    # Before the password is checked: workspaces that require single sign-on.
    "accounts.signin.sso_enforcement.SsoRequiredBackend",
    "django.contrib.auth.backends.ModelBackend",
    "accounts.signin.oidc.SingleSignOnBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:home"
LOGOUT_REDIRECT_URL = "accounts:login"
PASSWORD_RESET_TIMEOUT = 60 * 60 * 24

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Where collectstatic gathers the files whitenoise serves (a deployment may keep them elsewhere).
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT") or BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# Email (Django's MAILERS). EMAIL_BACKEND, when set, always wins. Otherwise: SMTP when
# EMAIL_HOST is set; in DEBUG, one file per email under EMAIL_FILE_PATH, so that commands'
# output and the server log stay readable; else the console (the process's log).
_smtp = "django.core.mail.backends.smtp.EmailBackend"
_files = "django.core.mail.backends.filebased.EmailBackend"
if os.environ.get("EMAIL_HOST"):
    _email_backend = _smtp
elif DEBUG:
    _email_backend = _files
else:
    _email_backend = "django.core.mail.backends.console.EmailBackend"
_email_backend = os.environ.get("EMAIL_BACKEND") or _email_backend
MAILERS = {"default": {"BACKEND": _email_backend}}
if _email_backend == _smtp:
    MAILERS["default"]["OPTIONS"] = {
        "host": os.environ.get("EMAIL_HOST", "localhost"),
        "port": env_int("EMAIL_PORT", 587),
        "username": os.environ.get("EMAIL_HOST_USER", ""),
        "password": os.environ.get("EMAIL_HOST_PASSWORD", ""),
        "use_tls": env_bool("EMAIL_USE_TLS", True),
        "timeout": env_int("EMAIL_TIMEOUT", 10),
    }
elif _email_backend == _files:
    _mail_folder = os.environ.get("EMAIL_FILE_PATH") or str(BASE_DIR / "var" / "mail")
    MAILERS["default"]["OPTIONS"] = {"file_path": _mail_folder}
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Keyward <keyward@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Security headers. KEYWARD_HTTPS turns on everything that assumes TLS.
KEYWARD_HTTPS = env_bool("KEYWARD_HTTPS", not DEBUG)
SECURE_SSL_REDIRECT = KEYWARD_HTTPS
SESSION_COOKIE_SECURE = KEYWARD_HTTPS
CSRF_COOKIE_SECURE = KEYWARD_HTTPS
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if KEYWARD_HTTPS else 0)
# Both reach beyond Keyward's own host name (every subdomain; browsers' preload lists,
# hard to leave), so each is the deployment's explicit choice.
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
# `check --deploy` warns about each one left off; leaving it off is the documented default.
SILENCED_SYSTEM_CHECKS = [
    check
    for check, on in (
        ("security.W005", SECURE_HSTS_INCLUDE_SUBDOMAINS),
        ("security.W021", SECURE_HSTS_PRELOAD),
    )
    if not on
]
if env_bool("KEYWARD_BEHIND_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "font-src": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "object-src": [CSP.NONE],
}

# One JSON object per line in production (ops/logs.py); readable text in development.
# Every line written while a request runs carries its request id.
KEYWARD_LOG_FORMAT = os.environ.get("KEYWARD_LOG_FORMAT", "text" if DEBUG else "json")
if KEYWARD_LOG_FORMAT not in {"json", "text"}:
    raise ImproperlyConfigured(
        f"KEYWARD_LOG_FORMAT must be json or text, not {KEYWARD_LOG_FORMAT!r}."
    )
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "ops.logs.RequestIdFilter"},
        "no_paths": {"()": "ops.logs.PathFilter"},
    },
    "formatters": {
        "json": {"()": "ops.logs.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": KEYWARD_LOG_FORMAT,
            "filters": ["request_id", "no_paths"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.server": {"level": "WARNING"}} if not DEBUG else {},
}

# Keyward product settings.
KEYWARD_TRUST_X_FORWARDED_FOR = env_bool("KEYWARD_TRUST_X_FORWARDED_FOR", False)
KEYWARD_INVITATION_MAX_AGE_DAYS = env_int("KEYWARD_INVITATION_MAX_AGE_DAYS", 7)
KEYWARD_LOGIN_FAILURES_PER_ACCOUNT = env_int("KEYWARD_LOGIN_FAILURES_PER_ACCOUNT", 5)
KEYWARD_LOGIN_FAILURES_PER_IP = env_int("KEYWARD_LOGIN_FAILURES_PER_IP", 20)
KEYWARD_LOGIN_FAILURE_WINDOW_SECONDS = env_int("KEYWARD_LOGIN_FAILURE_WINDOW_SECONDS", 15 * 60)
# Emails nobody at the receiving end asked for (password resets, invitations) and sign-ups.
KEYWARD_EMAILS_PER_ADDRESS = env_int("KEYWARD_EMAILS_PER_ADDRESS", 5)
KEYWARD_EMAILS_PER_IP = env_int("KEYWARD_EMAILS_PER_IP", 50)
KEYWARD_SIGNUPS_PER_IP = env_int("KEYWARD_SIGNUPS_PER_IP", 10)
KEYWARD_EMAIL_LIMIT_WINDOW_SECONDS = env_int("KEYWARD_EMAIL_LIMIT_WINDOW_SECONDS", 60 * 60)
KEYWARD_BASE_URL = os.environ.get("KEYWARD_BASE_URL", "http://127.0.0.1:8000")
# Passkeys (WebAuthn): the site they belong to and the origin the browser reports.
# Unset: the request's own host in DEBUG, else KEYWARD_BASE_URL's (accounts/signin/passkeys.py).
KEYWARD_WEBAUTHN_RP_ID = os.environ.get("KEYWARD_WEBAUTHN_RP_ID", "")
KEYWARD_WEBAUTHN_ORIGIN = os.environ.get("KEYWARD_WEBAUTHN_ORIGIN", "")

# Tokens: base prefix (kw -> kww_ workspace, kwp_ personal tokens), scopes, presets.
KEYWARD_TOKEN_PREFIX = os.environ.get("KEYWARD_TOKEN_PREFIX", "kw")
# Earlier base prefixes whose tokens keep working after KEYWARD_TOKEN_PREFIX changed.
KEYWARD_TOKEN_PREFIXES_ACCEPTED = env_list("KEYWARD_TOKEN_PREFIXES_ACCEPTED", [])
KEYWARD_SCOPES = {
    "workspace:read": {
        "label": "Read workspace",
        "description": "Read the workspace's name and settings.",
        "role": "member",
    },
    "members:read": {
        "label": "List members",
        "description": "List the workspace's members and their roles.",
        "role": "member",
    },
    "tokens:read": {
        "label": "Read tokens",
        "description": "List tokens and read their metadata, never their values.",
        "role": "member",
    },
    "tokens:write": {
        "label": "Manage tokens",
        "description": "Create, rename, rotate and revoke tokens.",
        "role": "manager",
    },
    "tokens:introspect": {
        "label": "Introspect tokens",
        "description": "Check whether other tokens are valid (RFC 7662 introspection).",
        "role": "manager",
    },
    # The deployment's metrics, not the workspace's: no preset grants it.
    "metrics:read": {
        "label": "Read metrics",
        "description": "Read the deployment's Prometheus metrics at /metrics (totals of all "
        "workspaces, with no names in them).",
        "role": "admin",
    },
}
KEYWARD_SCOPE_PRESETS = {
    "read": {"label": "Read only", "scopes": ["workspace:read", "members:read", "tokens:read"]},
    "read_write": {
        "label": "Read & write",
        "scopes": ["workspace:read", "members:read", "tokens:read", "tokens:write"],
    },
    "admin": {
        "label": "Admin",
        "scopes": [
            "workspace:read",
            "members:read",
            "tokens:read",
            "tokens:write",
            "tokens:introspect",
        ],
    },
}
# Failed API authentications allowed per client IP per window (then 429).
KEYWARD_API_AUTH_FAILURES_PER_IP = env_int("KEYWARD_API_AUTH_FAILURES_PER_IP", 50)
KEYWARD_API_AUTH_FAILURE_WINDOW_SECONDS = env_int("KEYWARD_API_AUTH_FAILURE_WINDOW_SECONDS", 60)
# last_used_* is written at most once per this many seconds per token.
KEYWARD_LAST_USED_INTERVAL_SECONDS = env_int("KEYWARD_LAST_USED_INTERVAL_SECONDS", 60)
# PostgreSQL: run the token lookup as a prepared statement (planned once per connection).
# Turn off behind a pooler in transaction mode that cannot keep prepared statements.
KEYWARD_PREPARED_TOKEN_LOOKUP = env_bool("KEYWARD_PREPARED_TOKEN_LOOKUP", True)
KEYWARD_SETTINGS_FIRST_TAB = "tokens:list"

# Gateway (gateway/): /gateway/check takes the token from Authorization: Bearer, or from
# this header when set (e.g. X-Api-Key); and answers an allowed request with these headers.
KEYWARD_GATEWAY_TOKEN_HEADER = os.environ.get("KEYWARD_GATEWAY_TOKEN_HEADER", "")
KEYWARD_GATEWAY_RESPONSE_HEADERS = {
    "token_id": os.environ.get("KEYWARD_GATEWAY_HEADER_TOKEN_ID", "X-Keyward-Token-Id"),
    "workspace": os.environ.get("KEYWARD_GATEWAY_HEADER_WORKSPACE", "X-Keyward-Workspace"),
    "owner": os.environ.get("KEYWARD_GATEWAY_HEADER_OWNER", "X-Keyward-Owner"),
    "scopes": os.environ.get("KEYWARD_GATEWAY_HEADER_SCOPES", "X-Keyward-Scopes"),
}

# Usage counting (gateway.usage, gateway.rollups): counts per minute are kept this many
# hours, per hour this many days, per day this many days (0: for ever). A minute's counts
# left in Redis by no flusher expire after KEYWARD_USAGE_BUFFER_TTL_SECONDS.
KEYWARD_USAGE_MINUTE_RETENTION_HOURS = env_int("KEYWARD_USAGE_MINUTE_RETENTION_HOURS", 48)
KEYWARD_USAGE_HOUR_RETENTION_DAYS = env_int("KEYWARD_USAGE_HOUR_RETENTION_DAYS", 90)
KEYWARD_USAGE_DAY_RETENTION_DAYS = env_int("KEYWARD_USAGE_DAY_RETENTION_DAYS", 0)
KEYWARD_USAGE_BUFFER_TTL_SECONDS = env_int("KEYWARD_USAGE_BUFFER_TTL_SECONDS", 2 * 24 * 3600)
# With Redis, each process pushes the counts it holds in memory this often (seconds); 0 runs
# no push thread: a process pushes its counts when it exits (or runs flush_usage itself).
KEYWARD_USAGE_PUSH_SECONDS = env_int("KEYWARD_USAGE_PUSH_SECONDS", 1)

# Operations (ops/): /metrics answers these networks (CIDR) without a token; anyone
# else needs a token with the metrics:read scope.
KEYWARD_METRICS_ALLOWED_IPS = env_list("KEYWARD_METRICS_ALLOWED_IPS", ["127.0.0.1/32", "::1/128"])
for _network in KEYWARD_METRICS_ALLOWED_IPS:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"KEYWARD_METRICS_ALLOWED_IPS takes comma-separated networks (CIDR), not {_network!r}."
        ) from exc

# GitHub Secret Scanning partner endpoint: GitHub's signing keys come from this
# URL, or from a local JSON file (same format) when it is set (offline, tests).
KEYWARD_GITHUB_SECRET_SCANNING_KEYS_URL = os.environ.get(
    "KEYWARD_GITHUB_SECRET_SCANNING_KEYS_URL",
    "https://api.github.com/meta/public_keys/secret_scanning",
)
KEYWARD_GITHUB_SECRET_SCANNING_KEYS_FILE = os.environ.get(
    "KEYWARD_GITHUB_SECRET_SCANNING_KEYS_FILE", ""
)
KEYWARD_GITHUB_SECRET_SCANNING_KEYS_TTL = env_int("KEYWARD_GITHUB_SECRET_SCANNING_KEYS_TTL", 3600)
KEYWARD_GITHUB_SECRET_SCANNING_MAX_BODY = env_int(
    "KEYWARD_GITHUB_SECRET_SCANNING_MAX_BODY", 2 * 1024 * 1024
)

# Single sign-on with one OpenID Connect issuer (accounts/signin/oidc.py, docs/sso.md).
# Off while the issuer is unset. Endpoints and signing keys come from the issuer's
# discovery document, read on the first SSO sign-in and kept by each process.
KEYWARD_OIDC_ISSUER = os.environ.get("KEYWARD_OIDC_ISSUER", "")
KEYWARD_OIDC_CLIENT_ID = os.environ.get("KEYWARD_OIDC_CLIENT_ID", "")
KEYWARD_OIDC_CLIENT_SECRET = os.environ.get("KEYWARD_OIDC_CLIENT_SECRET", "")
# What the sign-in button calls the provider: "Sign in with <name>".
KEYWARD_OIDC_PROVIDER_NAME = os.environ.get("KEYWARD_OIDC_PROVIDER_NAME", "") or "SSO"
if KEYWARD_OIDC_ISSUER:
    if not KEYWARD_OIDC_ISSUER.startswith(("https://", "http://")):
        raise ImproperlyConfigured(
            f"KEYWARD_OIDC_ISSUER must be the issuer's URL, not {KEYWARD_OIDC_ISSUER!r}."
        )
    if not (KEYWARD_OIDC_CLIENT_ID and KEYWARD_OIDC_CLIENT_SECRET):
        raise ImproperlyConfigured(
            "KEYWARD_OIDC_ISSUER needs KEYWARD_OIDC_CLIENT_ID and KEYWARD_OIDC_CLIENT_SECRET."
        )
# mozilla-django-oidc's own settings; the client and endpoints are read from the
# KEYWARD_OIDC_* values above when used (accounts/signin/oidc_config.py).
OIDC_RP_SCOPES = "openid email"
OIDC_USE_PKCE = True
OIDC_PKCE_CODE_CHALLENGE_METHOD = "S256"
OIDC_USE_NONCE = True
# The ID token's algorithm must be one of these (no HS256: the client secret is no signing key).
KEYWARD_OIDC_SIGN_ALGORITHMS = ["RS256", "ES256"]
OIDC_RP_SIGN_ALGO = "RS256"
OIDC_CREATE_USER = False  # accounts/signin/oidc.py creates users only for JIT membership
OIDC_TIMEOUT = 10
OIDC_AUTHENTICATION_CALLBACK_URL = "accounts:sso_callback"

# Sudo mode: revealing a stored token asks for the password again after this long.
KEYWARD_SUDO_SECONDS = env_int("KEYWARD_SUDO_SECONDS", 10 * 60)

# Staff must have a second factor to use /admin/ (accounts.signin.admin_policy).
KEYWARD_ADMIN_REQUIRE_TWO_FACTOR = env_bool("KEYWARD_ADMIN_REQUIRE_TWO_FACTOR", False)

# The "retrievable" reveal policy keeps an encrypted copy of new tokens' secrets.
# Fernet keys (urlsafe base64, 32 bytes), comma-separated, newest first: the first
# encrypts, all decrypt, so a key can be rotated in with `manage.py
# rotate_token_encryption_keys`. Without keys the policy cannot be chosen.
KEYWARD_TOKEN_ENCRYPTION_KEYS = env_list("KEYWARD_TOKEN_ENCRYPTION_KEYS", [])
if not KEYWARD_TOKEN_ENCRYPTION_KEYS and DEBUG and SECRET_KEY.startswith("django-insecure"):
    # Local development only: a key derived from the development secret, so that the
    # demo can show the policy. Never used when SECRET_KEY is set.
    import base64
    import hashlib

    KEYWARD_TOKEN_ENCRYPTION_KEYS = [
        base64.urlsafe_b64encode(hashlib.sha256(SECRET_KEY.encode()).digest()).decode()
    ]

# Expiry reminders (`manage.py send_expiry_reminders`) go out this many days ahead.
KEYWARD_EXPIRY_REMINDER_DAYS = env_days("KEYWARD_EXPIRY_REMINDER_DAYS", [7, 1])
