"""Settings for the marketplace, read from the environment.

Every setting has an embedded default so that a fresh checkout runs with no other
service: SQLite, database search, dummy payments, Celery tasks run eagerly and
media on local disk. Production sets the environment (see README).
"""

import os
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


DEFAULT_SECRET_KEY = "insecure-development-key-change-me"
SECRET_KEY = os.environ.get("SECRET_KEY", DEFAULT_SECRET_KEY)
DEBUG = env_bool("DEBUG", True)
if not DEBUG and SECRET_KEY == DEFAULT_SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "graphene_django",
    "strawberry_django",
    "backend.core",
    "backend.accounts",
    "backend.vendors",
    "backend.catalog",
    "backend.search",
    "backend.logistics",
    "backend.finance",
    "backend.payments",
    "backend.checkout",
    "backend.orders",
    "backend.disputes",
    "backend.reviews",
    "plugins",
    "fixtures",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "backend.urls"
WSGI_APPLICATION = "backend.wsgi.application"
ASGI_APPLICATION = "backend.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "backend" / "templates"],
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

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Waiting on the write lock instead of failing at once keeps concurrent
    # requests on the embedded default working.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
    DATABASES["default"]["CONN_MAX_AGE"] = 0
IS_POSTGRESQL = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_HASHERS = env_list(
    "PASSWORD_HASHERS",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher,"
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher,"
    "django.contrib.auth.hashers.Argon2PasswordHasher,"
    "django.contrib.auth.hashers.ScryptPasswordHasher",
)

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "static"))
MEDIA_URL = os.environ.get("MEDIA_URL", "/media/")
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))

# Currency of the marketplace. Amounts are Decimal, rounded to its minor unit.
DEFAULT_CURRENCY = os.environ.get("DEFAULT_CURRENCY", "CNY")

# --- Authentication (JWT) ---
JWT_ACCESS_TTL = timedelta(seconds=env_int("JWT_ACCESS_TTL_SECONDS", 5 * 60))
JWT_REFRESH_TTL = timedelta(seconds=env_int("JWT_REFRESH_TTL_SECONDS", 30 * 24 * 3600))
JWT_ALGORITHM = "HS256"
JWT_ISSUER = os.environ.get("JWT_ISSUER", "marketplace")
LOGIN_THROTTLE_ATTEMPTS = env_int("LOGIN_THROTTLE_ATTEMPTS", 5)
LOGIN_THROTTLE_WINDOW = timedelta(seconds=env_int("LOGIN_THROTTLE_WINDOW_SECONDS", 15 * 60))

# --- Uploads ---
UPLOAD_MAX_BYTES = env_int("UPLOAD_MAX_BYTES", 10 * 1024 * 1024)
UPLOAD_MAX_IMAGE_PIXELS = env_int("UPLOAD_MAX_IMAGE_PIXELS", 40_000_000)
UPLOAD_MAX_IMAGE_SIDE = env_int("UPLOAD_MAX_IMAGE_SIDE", 10_000)
DATA_UPLOAD_MAX_MEMORY_SIZE = UPLOAD_MAX_BYTES + 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
# Links to merchants' qualification documents are signed and expire after this many seconds.
VENDOR_DOCUMENT_LINK_MAX_AGE = env_int("VENDOR_DOCUMENT_LINK_MAX_AGE_SECONDS", 3600)

# --- Background tasks ---
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "memory://")
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND") or None
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", "CELERY_BROKER_URL" not in os.environ)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# One queue per deployment (or per test run sharing a Redis database); the worker consumes it too.
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_TASK_DEFAULT_QUEUE", "celery")
# Worker processes; unset means one per CPU.
CELERY_WORKER_CONCURRENCY = env_int("CELERY_WORKER_CONCURRENCY", 0) or None
# Where beat (and `manage.py run_periodic`) keeps the last run of each periodic task.
CELERY_BEAT_SCHEDULE_FILENAME = os.environ.get("CELERY_BEAT_SCHEDULE_FILENAME", str(BASE_DIR / "celerybeat-schedule"))
# Failed periodic tasks are retried with exponential backoff (1 s, 2 s, 4 s ... at most the
# maximum, with jitter), this many times, then wait for their next scheduled run.
PERIODIC_TASK_MAX_RETRIES = env_int("PERIODIC_TASK_MAX_RETRIES", 5)
PERIODIC_TASK_RETRY_BACKOFF = env_int("PERIODIC_TASK_RETRY_BACKOFF_SECONDS", 1)
PERIODIC_TASK_RETRY_BACKOFF_MAX = env_int("PERIODIC_TASK_RETRY_BACKOFF_MAX_SECONDS", 600)
# Every entry's interval can be changed from the environment; see the end of this file.
CELERY_BEAT_SCHEDULE: dict = {}

# --- Checkout and orders ---
# Platform commission on each order line until the fee plans set it per category.
DEFAULT_COMMISSION_RATE = Decimal(os.environ.get("DEFAULT_COMMISSION_RATE", "0.05"))
# Receipt is confirmed automatically this many days after delivery, or after shipment
# when no delivery event comes; the shopper may extend once by the extension.
ORDER_AUTO_CONFIRM_DAYS_AFTER_DELIVERY = env_int("ORDER_AUTO_CONFIRM_DAYS_AFTER_DELIVERY", 10)
ORDER_AUTO_CONFIRM_DAYS_AFTER_SHIPMENT = env_int("ORDER_AUTO_CONFIRM_DAYS_AFTER_SHIPMENT", 15)
ORDER_CONFIRMATION_EXTENSION_DAYS = env_int("ORDER_CONFIRMATION_EXTENSION_DAYS", 5)
# An order whose payment is not captured at checkout holds its stock this long.
ORDER_UNPAID_RESERVATION_MINUTES = env_int("ORDER_UNPAID_RESERVATION_MINUTES", 30)
# Where vendors without a shipping origin of their own ship from (GB/T 2260 code; Hangzhou).
DEFAULT_SHIPPING_ORIGIN_REGION = os.environ.get("DEFAULT_SHIPPING_ORIGIN_REGION", "330100")
CHECKOUT_TTL_DAYS = env_int("CHECKOUT_TTL_DAYS", 30)
CELERY_BEAT_SCHEDULE.update(
    {
        "orders-auto-confirm-receipts": {"task": "orders.auto_confirm_receipts", "schedule": timedelta(minutes=15)},
        "orders-expire-unpaid": {"task": "orders.expire_unpaid", "schedule": timedelta(minutes=5)},
        "checkout-delete-stale": {"task": "checkout.delete_stale", "schedule": timedelta(hours=24)},
    }
)

# --- Disputes ---
# A dispute may be opened from payment until this many days after the order completed.
DISPUTE_WINDOW_DAYS_AFTER_COMPLETION = env_int("DISPUTE_WINDOW_DAYS_AFTER_COMPLETION", 15)
# Returns without a reason: within this many days of delivery, in categories that allow them.
DISPUTE_NO_REASON_RETURN_DAYS = env_int("DISPUTE_NO_REASON_RETURN_DAYS", 7)
DISPUTE_MAX_EVIDENCE_IMAGES = env_int("DISPUTE_MAX_EVIDENCE_IMAGES", 9)
# Evidence pictures are served through signed links that expire after this many seconds.
DISPUTE_EVIDENCE_LINK_MAX_AGE = env_int("DISPUTE_EVIDENCE_LINK_MAX_AGE_SECONDS", 3600)
CELERY_BEAT_SCHEDULE["disputes-apply-deadlines"] = {"task": "disputes.apply_deadlines", "schedule": timedelta(minutes=10)}

# --- Fees, deposits, payouts ---
# What a category without any fee plan (own or inherited) costs; plans are set per category by staff.
FEE_DEFAULT_ANNUAL_FEE = Decimal(os.environ.get("FEE_DEFAULT_ANNUAL_FEE", "0"))
FEE_DEFAULT_DEPOSIT = Decimal(os.environ.get("FEE_DEFAULT_DEPOSIT", "0"))
# A trading vendor that falls short of its fee or deposit is restricted and has this long to pay.
VENDOR_TOP_UP_DAYS = env_int("VENDOR_TOP_UP_DAYS", 15)
# What shoppers see of a restricted vendor: "visible" (listed, not buyable) or "hidden".
VENDOR_RESTRICTED_LISTINGS = os.environ.get("VENDOR_RESTRICTED_LISTINGS", "visible")
# A closing store's deposit comes back this many days after it asked to close.
VENDOR_CLOSURE_COOLING_OFF_DAYS = env_int("VENDOR_CLOSURE_COOLING_OFF_DAYS", 90)
# Gateway for entry fees and deposit top-ups when the request names none.
VENDOR_PAYMENT_GATEWAY = os.environ.get("VENDOR_PAYMENT_GATEWAY", "dummy")
# Payouts: smallest amount paid out, and when scheduled payouts run (daily, weekly, monthly or manual).
PAYOUT_MINIMUM_AMOUNT = Decimal(os.environ.get("PAYOUT_MINIMUM_AMOUNT", "100.00"))
PAYOUT_SCHEDULE = os.environ.get("PAYOUT_SCHEDULE", "weekly")
PAYOUT_WEEKDAY = env_int("PAYOUT_WEEKDAY", 0)  # Monday
PAYOUT_MONTH_DAY = env_int("PAYOUT_MONTH_DAY", 1)
# Signed statement download links (CSV, PDF) expire after this many seconds.
STATEMENT_LINK_MAX_AGE = env_int("STATEMENT_LINK_MAX_AGE_SECONDS", 600)
CELERY_BEAT_SCHEDULE.update(
    {
        "finance-vendor-standing": {"task": "finance.vendor_standing_check", "schedule": timedelta(hours=1)},
        "finance-closures-settle": {"task": "finance.closures_settle", "schedule": timedelta(hours=6)},
        "finance-fee-rebates": {"task": "finance.fee_rebates_pay", "schedule": timedelta(hours=24)},
        "finance-scheduled-payouts": {"task": "finance.payouts_run_scheduled", "schedule": timedelta(hours=24)},
    }
)

# --- Search ---
ELASTICSEARCH_URL = os.environ.get("ELASTICSEARCH_URL", "")
SEARCH_BACKEND = os.environ.get(
    "SEARCH_BACKEND",
    "backend.search.backends.elasticsearch.ElasticsearchBackend"
    if ELASTICSEARCH_URL
    else "backend.search.backends.database.DatabaseBackend",
)

# --- Payments ---
STRIPE_SECRET_KEY = os.environ.get("STRIPE_SECRET_KEY", "")
STRIPE_WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET", "")
STRIPE_API_BASE = os.environ.get("STRIPE_API_BASE", "")

# --- Plugins, in the order the manager runs them ---
# Each issue's plugins add themselves here; PLUGINS in the environment replaces the list.
DEFAULT_PLUGINS: list[str] = [
    # Listing checks run before human review; both active by default.
    "plugins.listing.banned_words.BannedWordsPlugin",
    "plugins.listing.image_check.ImageCheckPlugin",
    # Carriers: the table-rate carrier is active by default, the HTTP carrier is off until configured.
    "plugins.logistics.table_rate.TableRateCarrierPlugin",
    "plugins.logistics.http_carrier.HttpCarrierPlugin",
    # Payment gateways: the dummy gateway is active by default, Stripe is off until configured.
    "plugins.payments.dummy.DummyGatewayPlugin",
    "plugins.payments.stripe.StripeGatewayPlugin",
    # Dispute policy: the default policy is active; the strict-evidence policy is an alternative, off.
    "plugins.arbitration.default.DefaultArbitrationPlugin",
    "plugins.arbitration.strict_evidence.StrictEvidenceArbitrationPlugin",
]
PLUGINS = env_list("PLUGINS", ",".join(DEFAULT_PLUGINS))

# --- GraphQL ---
# No DjangoDebugMiddleware (graphene-django adds it under DEBUG): it wraps every resolver and records
# every SQL query; the core view installs its own pagination middleware.
GRAPHENE = {"SCHEMA": "backend.graphql.api.schema", "RELAY_CONNECTION_MAX_LIMIT": 100, "MIDDLEWARE": []}
GRAPHQL_MAX_PAGE_SIZE = 100
GRAPHIQL_ENABLED = env_bool("GRAPHIQL_ENABLED", DEBUG)

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": os.environ["CACHE_URL"],
    }
    if os.environ.get("CACHE_URL")
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}

if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

# --- Periodic intervals from the environment (keep this block last: it covers every entry above) ---
# PERIODIC_<ENTRY>_SECONDS (the entry's name in upper case, dashes as underscores, e.g.
# PERIODIC_ORDERS_AUTO_CONFIRM_RECEIPTS_SECONDS=60) sets one entry's interval;
# PERIODIC_INTERVAL_SECONDS sets every entry without its own (tests run the schedule every few seconds).
for _name, _entry in CELERY_BEAT_SCHEDULE.items():
    _seconds = os.environ.get(f"PERIODIC_{_name.upper().replace('-', '_')}_SECONDS") or os.environ.get(
        "PERIODIC_INTERVAL_SECONDS"
    )
    if _seconds:
        try:
            _entry["schedule"] = timedelta(seconds=float(_seconds))
        except ValueError:
            _entry["schedule"] = timedelta(0)
        if _entry["schedule"] <= timedelta(0):
            raise ImproperlyConfigured(
                f"The interval of the periodic task {_name} must be a positive number of seconds, not {_seconds!r}."
            )
