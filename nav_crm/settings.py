"""nav_crm settings.

Everything configurable is read from the environment through the one ``env`` object below;
the defaults make ``make demo`` and ``make test`` work with nothing set. The README lists every
variable.
"""

import secrets
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A local .env file is optional; real deployments set the environment.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DATA_DIR = Path(env.str("NAV_CRM_DATA_DIR", default=str(BASE_DIR / "var")))
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    """DJANGO_SECRET_KEY if set; otherwise a random key kept in the data directory.

    Generated once so that sessions survive restarts and no key ever sits in the repository.
    """
    configured = env.str("DJANGO_SECRET_KEY", default="")
    if configured:
        return configured
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
# Fernet keys encrypting the secrets the application stores (the CRM client secret): comma-separated,
# the first encrypts and all decrypt (rotation). Empty: a key generated once into DATA_DIR (syncjobs.connection.crypto).
NAV_CRM_ENCRYPTION_KEYS = env.list("NAV_CRM_ENCRYPTION_KEY", default=[])
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "django_tables2",
    "django_htmx",
    "crispy_forms",
    "crispy_bootstrap5",
    "js_lib_bootstrap5",
    "js_lib_bootstrap_icons",
    "django_q",
    "nav_crm",
    "erp",
    "coupling",
    "syncjobs",
    "crm_orders",
    "setup_wizard",
    "webservices",
    "crm_sandbox",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "nav_crm.middleware.ContentSecurityPolicyMiddleware",
    # Static files are served by the app itself (no CDN, no separate web server needed).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Every page needs a login unless its view opts out (login page, API, sandbox).
    "nav_crm.middleware.LoginRequiredMiddleware",
]

ROOT_URLCONF = "nav_crm.urls"
WSGI_APPLICATION = "nav_crm.wsgi.application"

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

# --- Databases -------------------------------------------------------------------------
# Embedded default: SQLite in WAL mode, IMMEDIATE transactions (writers queue on the busy
# timeout instead of failing with "database is locked" on lock upgrade). DATABASE_URL
# switches to PostgreSQL for scale.
SQLITE_OPTIONS = {
    "transaction_mode": "IMMEDIATE",
    "timeout": 30,
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
}


def _database(url: str) -> dict:
    config = env.db_url_config(url)
    if config["ENGINE"] == "django.db.backends.sqlite3":
        config["OPTIONS"] = {**SQLITE_OPTIONS, **config.get("OPTIONS", {})}
    else:
        config.setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=60))
        config.setdefault("CONN_HEALTH_CHECKS", True)
    return config


DATABASES = {
    "default": _database(env.str("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'nav_crm.sqlite3'}")),
    # The CRM sandbox is a separate system: its own database, never shared with the ERP.
    "crm_sandbox": _database(
        env.str("CRM_SANDBOX_DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'crm_sandbox.sqlite3'}")
    ),
}
DATABASE_ROUTERS = ["crm_sandbox.routers.CrmSandboxRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Background jobs (django-q2) ---------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
# Parallel test workers (pytest-xdist sets PYTEST_XDIST_WORKER) share one Redis: each keeps its own queue.
_TEST_WORKER = env.str("PYTEST_XDIST_WORKER", default="")
Q_CLUSTER = {
    "name": f"nav_crm-{_TEST_WORKER}" if _TEST_WORKER else "nav_crm",
    "workers": env.int("Q_WORKERS", default=2),
    # A sync job may run long; `retry` must exceed `timeout`, otherwise django-q2 re-delivers
    # a task that is still running.
    "timeout": env.int("Q_TIMEOUT", default=3600),
    "retry": env.int("Q_RETRY", default=3900),
    "max_attempts": 3,
    "ack_failures": True,
    "catch_up": False,
    "save_limit": 1000,
    "label": "Background jobs",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

# --- Auth ----------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# Machine endpoints answer 401 themselves instead of redirecting to the login page.
LOGIN_EXEMPT_PATH_PREFIXES = ["/api/", "/odata/"]

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# Behind TLS (README, "Running at scale"): HSTS, HTTP redirected to HTTPS, and the header by which the
# proxy that terminates TLS says the request came over HTTPS ("X-Forwarded-Proto=https").
SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_HSTS_PRELOAD", default=False)
SECURE_SSL_REDIRECT = env.bool("DJANGO_SSL_REDIRECT", default=False)


def _proxy_ssl_header(text: str) -> tuple[str, str] | None:
    """ "X-Forwarded-Proto=https" → ("HTTP_X_FORWARDED_PROTO", "https")."""
    if not text:
        return None
    name, sep, value = text.partition("=")
    if not sep or not name.strip() or not value.strip():
        raise ValueError(f"DJANGO_PROXY_SSL_HEADER must be HEADER=VALUE, e.g. X-Forwarded-Proto=https; got {text!r}.")
    return "HTTP_" + name.strip().upper().replace("-", "_"), value.strip()


SECURE_PROXY_SSL_HEADER = _proxy_ssl_header(env.str("DJANGO_PROXY_SSL_HEADER", default=""))
# On every page (nav_crm.middleware): assets come from this site only (no CDN). Inline styles stay
# allowed (htmx's indicator style, two style attributes); inline scripts do not.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

# --- I18N / static ---------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise expects it even before collectstatic
# Serve straight from the app and package static folders: works without collectstatic.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# --- UI libraries ------------------------------------------------------------------------------
CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"
DJANGO_TABLES2_TEMPLATE = "django_tables2/bootstrap5-responsive.html"
DJANGO_TABLES2_TABLE_ATTRS = {"class": "table table-sm table-hover align-middle"}

# --- REST API --------------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first: its WWW-Authenticate header turns an anonymous request into 401, not 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        # A web service access key (setup_wizard): HTTP Basic user name + key, or "AccessKey user:key".
        "setup_wizard.authentication.AccessKeyBasicAuthentication",
        "setup_wizard.authentication.AccessKeyHeaderAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["nav_crm.api.permissions.StrictModelPermissions"],
    "DEFAULT_PARSER_CLASSES": [
        "nav_crm.api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_FILTER_BACKENDS": [
        "nav_crm.api.filters.StrictFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "nav_crm.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "nav_crm.api.exceptions.api_exception_handler",
    # No default throttle classes: only the token endpoint is throttled (password guessing), per
    # client address, in the default cache (process-local memory: one counter per web process).
    "DEFAULT_THROTTLE_RATES": {"api-token": env.str("API_TOKEN_THROTTLE_RATE", default="10/minute")},
    # The client address is REMOTE_ADDR unless the app sits behind this many trusted proxies that
    # append to X-Forwarded-For (DRF's default trusts the whole header, which a client can forge).
    "NUM_PROXIES": env.int("API_NUM_PROXIES", default=0),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "nav_crm API",
    "DESCRIPTION": (
        "REST API of the nav_crm ERP.\n\n"
        "**Authentication**: `Authorization: Token <key>` (get a key from `POST /api/v1/auth/token/` with "
        "username and password), a web service access key (HTTP Basic with user name and key, or "
        "`Authorization: AccessKey <user name>:<key>`; each user makes one on the Web service access key page) "
        "or the session of a logged-in user (writes then need the CSRF token). "
        "Every resource needs its model permission: view for reads, add/change/delete for writes.\n\n"
        "**Keys**: records are addressed and referenced by their business key: `code` (currencies, units of "
        "measure, salespeople, code tables), `no` (customers, contacts, items, resources, sales orders); sales "
        "prices by `system_id`, item ledger entries by entry no. Exchange rates, item units of measure and "
        "sales lines live under their parent. `system_id` is the stable id used for CRM coupling.\n\n"
        "**Errors** are JSON: 400 with field errors, 401, 403, 404, 405, 409 when a record is still in use, "
        "429 (with Retry-After) when one address asks the token endpoint too often."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI and ReDoc assets come from drf-spectacular-sidecar: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # No call to the public swagger.io validator: the docs work offline.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v[0-9]+",
    # Several models have a "type" field with different choices.
    "ENUM_NAME_OVERRIDES": {
        "ContactTypeEnum": "erp.models.Contact.Type",
        "ItemTypeEnum": "erp.models.Item.Type",
        "SalesLineTypeEnum": "erp.models.SalesLine.Type",
    },
}

# --- CRM sandbox ---------------------------------------------------------------------------------
# Where `make demo` binds the web app and the CRM sandbox.
DEMO_WEB_ADDR = env.str("DEMO_WEB_ADDR", default="127.0.0.1:8000")
CRM_SANDBOX_ADDR = env.str("CRM_SANDBOX_ADDR", default="127.0.0.1:8001")
CRM_SANDBOX_DATA_DIR = Path(env.str("CRM_SANDBOX_DATA_DIR", default=str(DATA_DIR / "crm_sandbox")))

# --- Logging ---------------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "filters": {"forbidden_one_line": {"()": "nav_crm.log_filters.ForbiddenWithoutTraceback"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django.request": {"filters": ["forbidden_one_line"]},
    },
}
