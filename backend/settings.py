"""Settings for the marketplace, read from the environment.

Every setting has an embedded default so that a fresh checkout runs with no other
service: SQLite, database search, dummy payments, Celery tasks run eagerly and
media on local disk. Production sets the environment (see README).
"""

import os
import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import dj_database_url
from corsheaders.defaults import default_headers as cors_default_headers
from django.core.exceptions import ImproperlyConfigured

from backend.core.production import development_secret_key, production_problems, refusal_message

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


DEBUG = env_bool("DEBUG", True)
# Production sets SECRET_KEY. In development without one, a random key is made once per
# installation in a git-ignored file (SECRET_KEY_FILE), so no published key signs anything.
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY and DEBUG:
    _key_file = Path(os.environ.get("SECRET_KEY_FILE", BASE_DIR / ".secret_key"))
    try:
        SECRET_KEY = development_secret_key(_key_file)
    except OSError as error:
        raise ImproperlyConfigured(
            f"Cannot read or create the development key file {_key_file} ({error.strerror}): "
            "set SECRET_KEY, or SECRET_KEY_FILE to a writable path."
        ) from error

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "csp",
    "graphene_django",
    # GraphiQL's built assets (React, GraphiQL, the explorer plugin), served as static files so
    # both GraphiQL pages work offline; the page itself is backend/templates/graphql/graphiql.html.
    "graphene_django_graphiql_static",
    "strawberry_django",
    "corsheaders",
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
    "backend.notifications",
    "backend.analytics",
    "backend.promotions",
    "backend.members",
    "backend.campaigns",
    "plugins",
    "fixtures",
]

MIDDLEWARE = [
    # Request id, GraphQL metrics, /health/* and /metrics, coded GraphQL errors (backend/core/observability.py).
    "backend.core.observability.ObservabilityMiddleware",
    # Before the rest, so that its headers are on every answer of the storefront API, errors included.
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Serves static files (admin, console) with DEBUG off, compressed and cached; runserver does it in development.
    *([] if DEBUG else ["whitenoise.middleware.WhiteNoiseMiddleware"]),
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Activates English or Simplified Chinese from Accept-Language: API error messages and emails.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
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
    # Concurrent requests on the embedded default wait for each other instead of failing:
    # - every transaction.atomic() takes the write lock when it begins (BEGIN IMMEDIATE), so two
    #   writers never both read under a shared lock and then fail to upgrade it ("database is
    #   locked" at once, whatever the timeout), which is SQLite's stand-in for row locks;
    # - a writer waits up to SQLITE_BUSY_TIMEOUT_SECONDS for the lock;
    # - WAL lets readers go on while one writer writes; synchronous=NORMAL is the safe pairing
    #   for WAL (a power cut may lose the last commits, never corrupts the file).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": env_int("SQLITE_BUSY_TIMEOUT_SECONDS", 20),
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    DATABASES["default"]["CONN_MAX_AGE"] = 0
IS_POSTGRESQL = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
# No statement runs longer than this on PostgreSQL (milliseconds; 0: no limit), so whatever escapes
# the API's query limits cannot hold a worker and a connection for minutes. On by default in
# production; a long migration runs with DATABASE_STATEMENT_TIMEOUT_MS=0.
DATABASE_STATEMENT_TIMEOUT_MS = env_int("DATABASE_STATEMENT_TIMEOUT_MS", 0 if DEBUG else 30_000)
if IS_POSTGRESQL and DATABASE_STATEMENT_TIMEOUT_MS > 0:
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    _options["options"] = f"{_options.get('options', '')} -c statement_timeout={DATABASE_STATEMENT_TIMEOUT_MS}".strip()

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

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "static"))
MEDIA_URL = os.environ.get("MEDIA_URL", "/media/")
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))
# Private files (qualification documents, dispute evidence): outside MEDIA_ROOT, never served by path,
# read only by the signed views (backend/core/storage.py). PRIVATE_STORAGE_BACKEND swaps the storage
# (e.g. a private S3 bucket); PRIVATE_MEDIA_ACCEL_REDIRECT hands the sending to the web server
# (nginx X-Accel-Redirect to an internal location, e.g. /private-media/). See README, "Private files".
PRIVATE_MEDIA_ROOT = Path(os.environ.get("PRIVATE_MEDIA_ROOT", BASE_DIR / "private-media"))
PRIVATE_MEDIA_ACCEL_REDIRECT = os.environ.get("PRIVATE_MEDIA_ACCEL_REDIRECT", "")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Compressed copies made by collectstatic; names stay unhashed so pages render before any collectstatic.
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
    "private": {
        "BACKEND": os.environ.get("PRIVATE_STORAGE_BACKEND", "backend.core.storage.PrivateFileSystemStorage")
    },
}
# Without collectstatic (STATIC_ROOT missing) whitenoise serves straight from the apps' static folders.
WHITENOISE_USE_FINDERS = env_bool("WHITENOISE_USE_FINDERS", not STATIC_ROOT.is_dir())

# Currency of the marketplace. Amounts are Decimal, rounded to its minor unit.
DEFAULT_CURRENCY = os.environ.get("DEFAULT_CURRENCY", "CNY")

# --- Authentication (JWT) ---
JWT_ACCESS_TTL = timedelta(seconds=env_int("JWT_ACCESS_TTL_SECONDS", 5 * 60))
JWT_REFRESH_TTL = timedelta(seconds=env_int("JWT_REFRESH_TTL_SECONDS", 30 * 24 * 3600))
JWT_ALGORITHM = "HS256"
JWT_ISSUER = os.environ.get("JWT_ISSUER", "marketplace")
# Sign-in throttling (backend/accounts/throttle.py; counters in the cache, see CACHES). Failed sign-ins
# are counted per client address, per client address and email, and per email from everywhere:
# - a client address with LOGIN_THROTTLE_PER_CLIENT failures in the window is refused;
# - so is a client address with LOGIN_THROTTLE_PER_CLIENT_EMAIL failures for one email;
# - an email with LOGIN_THROTTLE_ATTEMPTS failures from anywhere gets progressive delays: each further
#   failure refuses that email for 2, 4, 8 ... seconds, at most LOGIN_THROTTLE_MAX_DELAY, so strangers
#   can slow its owner down but never lock them out.
LOGIN_THROTTLE_WINDOW = timedelta(seconds=env_int("LOGIN_THROTTLE_WINDOW_SECONDS", 15 * 60))
LOGIN_THROTTLE_PER_CLIENT = env_int("LOGIN_THROTTLE_PER_CLIENT", 20)
LOGIN_THROTTLE_PER_CLIENT_EMAIL = env_int("LOGIN_THROTTLE_PER_CLIENT_EMAIL", 5)
LOGIN_THROTTLE_ATTEMPTS = env_int("LOGIN_THROTTLE_ATTEMPTS", 5)
LOGIN_THROTTLE_MAX_DELAY = timedelta(seconds=env_int("LOGIN_THROTTLE_MAX_DELAY_SECONDS", 60))
# Emails that account operations send (confirmation, password reset, "someone tried to register"):
# at most this many to one address, and this many requests for them from one client, per window.
ACCOUNT_EMAILS_PER_ADDRESS = env_int("ACCOUNT_EMAILS_PER_ADDRESS", 3)
ACCOUNT_EMAIL_REQUESTS_PER_CLIENT = env_int("ACCOUNT_EMAIL_REQUESTS_PER_CLIENT", 10)
ACCOUNT_EMAIL_WINDOW = timedelta(seconds=env_int("ACCOUNT_EMAIL_WINDOW_SECONDS", 3600))
# Sign-in, registration, confirmation and password reset operations one request may carry (aliases and
# batches included); the rest answer TOO_MANY_OPERATIONS without doing anything.
AUTH_OPERATIONS_PER_REQUEST = env_int("AUTH_OPERATIONS_PER_REQUEST", 3)
# Behind a reverse proxy that sets X-Forwarded-For, its first hop is the client address; otherwise
# REMOTE_ADDR is (a client could write any X-Forwarded-For itself).
TRUSTED_PROXY = env_bool("TRUSTED_PROXY", False)
# Confirmation and password reset tokens (Django's PasswordResetTokenGenerator) expire after this.
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_TIMEOUT_SECONDS", 3 * 24 * 3600)
# Store staff invitations expire after this many days.
VENDOR_STAFF_INVITATION_DAYS = env_int("VENDOR_STAFF_INVITATION_DAYS", 7)
VENDOR_STAFF_PENDING_INVITATIONS_MAX = env_int("VENDOR_STAFF_PENDING_INVITATIONS_MAX", 50)

# --- Email ---
# The console on the embedded default (emails are printed by the web process); SMTP in production from
# EMAIL_URL (smtp://user:password@host:587/?tls=True) or EMAIL_HOST, EMAIL_PORT, EMAIL_HOST_USER,
# EMAIL_HOST_PASSWORD, EMAIL_USE_TLS.
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Marketplace <no-reply@marketplace.example.com>")
if os.environ.get("EMAIL_URL"):
    import dj_email_url

    vars().update(dj_email_url.parse(os.environ["EMAIL_URL"]))
elif os.environ.get("EMAIL_HOST"):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = os.environ["EMAIL_HOST"]
    EMAIL_PORT = env_int("EMAIL_PORT", 587)
    EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
else:
    EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")

# --- Uploads ---
UPLOAD_MAX_BYTES = env_int("UPLOAD_MAX_BYTES", 10 * 1024 * 1024)
UPLOAD_MAX_IMAGE_PIXELS = env_int("UPLOAD_MAX_IMAGE_PIXELS", 40_000_000)
UPLOAD_MAX_IMAGE_SIDE = env_int("UPLOAD_MAX_IMAGE_SIDE", 10_000)
# Decoded pixels allowed per use (never above UPLOAD_MAX_IMAGE_PIXELS), checked against the header
# before decoding: scans of documents, phone photos as evidence and listing images, store logos/banners.
UPLOAD_IMAGE_PIXEL_LIMITS = {
    "document": env_int("UPLOAD_MAX_PIXELS_DOCUMENT", 25_000_000),
    "evidence": env_int("UPLOAD_MAX_PIXELS_EVIDENCE", 16_000_000),
    "product_media": env_int("UPLOAD_MAX_PIXELS_PRODUCT_MEDIA", 16_000_000),
    "store_image": env_int("UPLOAD_MAX_PIXELS_STORE_IMAGE", 8_000_000),
}
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
# Orders the periodic release completes per transaction (one batched ledger write each).
ORDER_RELEASE_BATCH_SIZE = env_int("ORDER_RELEASE_BATCH_SIZE", 2000)
# The other periodic work, also in batches (one transaction each, gateway calls between them):
# unpaid orders past their reservation (orders.expire_unpaid), disputes past a deadline
# (disputes.apply_deadlines), payment sessions past their time (checkout.expire_payment_sessions)
# and checkouts nobody touched (checkout.delete_stale).
ORDER_EXPIRY_BATCH_SIZE = env_int("ORDER_EXPIRY_BATCH_SIZE", 1000)
DISPUTE_DEADLINE_BATCH_SIZE = env_int("DISPUTE_DEADLINE_BATCH_SIZE", 500)
PAYMENT_SESSION_EXPIRY_BATCH_SIZE = env_int("PAYMENT_SESSION_EXPIRY_BATCH_SIZE", 1000)
CHECKOUT_DELETE_BATCH_SIZE = env_int("CHECKOUT_DELETE_BATCH_SIZE", 1000)
ORDER_CONFIRMATION_EXTENSION_DAYS = env_int("ORDER_CONFIRMATION_EXTENSION_DAYS", 5)
# An order whose payment is not captured at checkout holds its stock this long.
ORDER_UNPAID_RESERVATION_MINUTES = env_int("ORDER_UNPAID_RESERVATION_MINUTES", 30)
# How long a payment session (checkoutPaymentCreate) holds its stock while the shopper pays at the gateway.
PAYMENT_SESSION_MINUTES = env_int("PAYMENT_SESSION_MINUTES", 30)
# Where vendors without a shipping origin of their own ship from (GB/T 2260 code; Hangzhou).
DEFAULT_SHIPPING_ORIGIN_REGION = os.environ.get("DEFAULT_SHIPPING_ORIGIN_REGION", "330100")
# Shipments are booked and cancelled in two phases, the carrier called with no row locked. An
# attempt still calling the carrier after this many seconds is taken for dead: a retry (or the
# periodic orders.complete_bookings) takes its place, under the same idempotency key.
SHIPMENT_CARRIER_CALL_TIMEOUT = env_int("SHIPMENT_CARRIER_CALL_TIMEOUT_SECONDS", 120)
CHECKOUT_TTL_DAYS = env_int("CHECKOUT_TTL_DAYS", 30)
# A shipping quote stored on a checkout is reused at completion while its inputs (lines, weights,
# address, carrier service, carrier data version) are unchanged, for at most this long and never
# across one of the carrier's pricing-event boundaries; 0 re-quotes at every completion.
CHECKOUT_QUOTE_MAX_AGE_SECONDS = env_int("CHECKOUT_QUOTE_MAX_AGE_SECONDS", 600)
# Voucher stacking (Tmall's rule by default): platform vouchers per checkout, store vouchers per store package.
PROMOTIONS_PLATFORM_VOUCHERS_PER_CHECKOUT = env_int("PROMOTIONS_PLATFORM_VOUCHERS_PER_CHECKOUT", 1)
PROMOTIONS_STORE_VOUCHERS_PER_PACKAGE = env_int("PROMOTIONS_STORE_VOUCHERS_PER_PACKAGE", 1)
# Platform campaigns go live and end with their dates (their prices follow the dates anyway).
CELERY_BEAT_SCHEDULE["campaigns-advance"] = {"task": "campaigns.advance", "schedule": timedelta(minutes=5)}
CELERY_BEAT_SCHEDULE.update(
    {
        "orders-auto-confirm-receipts": {"task": "orders.auto_confirm_receipts", "schedule": timedelta(minutes=15)},
        "orders-expire-unpaid": {"task": "orders.expire_unpaid", "schedule": timedelta(minutes=5)},
        "orders-complete-bookings": {"task": "orders.complete_bookings", "schedule": timedelta(minutes=5)},
        "checkout-expire-payment-sessions": {
            "task": "checkout.expire_payment_sessions", "schedule": timedelta(minutes=5),
        },
        "checkout-delete-stale": {"task": "checkout.delete_stale", "schedule": timedelta(hours=24)},
        # Group buying: groups whose window closed unfilled fail and their members are refunded.
        "promotions-close-expired-groups": {
            "task": "promotions.close_expired_groups", "schedule": timedelta(minutes=5),
        },
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
# Evidence renditions are made in the worker; evidence still processing after this many seconds
# (its task lost, a worker killed) is rendered by the periodic disputes.render_pending_evidence.
DISPUTE_EVIDENCE_RENDER_RETRY_AFTER = env_int("DISPUTE_EVIDENCE_RENDER_RETRY_AFTER_SECONDS", 300)
CELERY_BEAT_SCHEDULE["disputes-apply-deadlines"] = {"task": "disputes.apply_deadlines", "schedule": timedelta(minutes=10)}
CELERY_BEAT_SCHEDULE["disputes-render-pending-evidence"] = {
    "task": "disputes.render_pending_evidence",
    "schedule": timedelta(minutes=5),
}

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
# The alias the storefront searches; each rebuild makes a new index behind it.
ELASTICSEARCH_INDEX = os.environ.get("ELASTICSEARCH_INDEX", "marketplace-products")
# Seconds before a search or index request gives up (the storefront then answers from the database).
ELASTICSEARCH_TIMEOUT = float(os.environ.get("ELASTICSEARCH_TIMEOUT_SECONDS", "2"))
# After a failed request, Elasticsearch is not asked again for this many seconds.
ELASTICSEARCH_RETRY_AFTER = float(os.environ.get("ELASTICSEARCH_RETRY_AFTER_SECONDS", "30"))
ELASTICSEARCH_SHARDS = env_int("ELASTICSEARCH_SHARDS", 1)
ELASTICSEARCH_REPLICAS = env_int("ELASTICSEARCH_REPLICAS", 0)
# Synonyms, Solr format, separated by ";": "phone, mobile, cellphone; tee => t-shirt".
SEARCH_SYNONYMS = [line.strip() for line in os.environ.get("SEARCH_SYNONYMS", "").split(";") if line.strip()]
# Lower edges of the price facet's buckets (the last one has no upper end).
SEARCH_PRICE_RANGES = [Decimal(edge) for edge in env_list("SEARCH_PRICE_RANGES", "0,50,100,200,500,1000,2000,5000")]
# Storefront lists' totalCount (backend/core/counts.py): a count of at least COUNT_CACHE_MIN rows is kept
# COUNT_CACHE_SECONDS in the cache (0: never), so a page of a long list does not count every row again.
COUNT_CACHE_SECONDS = env_int("COUNT_CACHE_SECONDS", 60)
COUNT_CACHE_MIN = env_int("COUNT_CACHE_MIN", 1000)
CELERY_BEAT_SCHEDULE["search-replay-pending"] = {"task": "search.replay_pending", "schedule": timedelta(minutes=1)}

# --- Analytics (backend/analytics) ---
# Storefront events (views, searches, cart, checkout, orders) are recorded unless this is off.
ANALYTICS_ENABLED = env_bool("ANALYTICS_ENABLED", True)
# Where events wait to be written: "memory" (this process; embedded default) or a Redis URL shared
# by every web worker (production), written in batches by the worker.
ANALYTICS_BUFFER_URL = os.environ.get("ANALYTICS_BUFFER_URL", "memory")
# The Redis list of waiting events (one per platform sharing a Redis database).
ANALYTICS_BUFFER_KEY = os.environ.get("ANALYTICS_BUFFER_KEY", "analytics:events")
# A batch is written when this many events wait, or the oldest waited this long (seconds).
ANALYTICS_BUFFER_SIZE = env_int("ANALYTICS_BUFFER_SIZE", 500)
ANALYTICS_FLUSH_SECONDS = float(os.environ.get("ANALYTICS_FLUSH_SECONDS", "30"))
# Off: only the periodic flush (and an explicit flush) writes; the tests run this way.
ANALYTICS_AUTO_FLUSH = env_bool("ANALYTICS_AUTO_FLUSH", True)
# Events older than this are deleted by the periodic analytics.delete_old_events.
ANALYTICS_RETENTION_DAYS = env_int("ANALYTICS_RETENTION_DAYS", 400)
# Each aggregation run recomputes this many past days (late refunds, disputes and releases land there).
ANALYTICS_RECOMPUTE_DAYS = env_int("ANALYTICS_RECOMPUTE_DAYS", 3)
# Today's figures are computed live at most this often (seconds; cached between).
ANALYTICS_LIVE_CACHE_SECONDS = env_int("ANALYTICS_LIVE_CACHE_SECONDS", 60)
# How long an analytics CSV download link works (seconds).
ANALYTICS_LINK_MAX_AGE = env_int("ANALYTICS_LINK_MAX_AGE", 15 * 60)
CELERY_BEAT_SCHEDULE["analytics-flush-events"] = {"task": "analytics.flush_events", "schedule": timedelta(minutes=1)}
CELERY_BEAT_SCHEDULE["analytics-aggregate-days"] = {
    "task": "analytics.aggregate_days",
    "schedule": timedelta(minutes=15),
}
CELERY_BEAT_SCHEDULE["analytics-delete-old-events"] = {
    "task": "analytics.delete_old_events",
    "schedule": timedelta(hours=24),
}

# --- Payments ---
STRIPE_SECRET_KEY = os.environ.get("STRIPE_SECRET_KEY", "")
STRIPE_WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET", "")
STRIPE_API_BASE = os.environ.get("STRIPE_API_BASE", "")
# Each active gateway's records of a day (in TIME_ZONE) are compared with ours once a day: the day
# this many days before the run (1: yesterday, when the gateways' books of the day are complete).
RECONCILIATION_LAG_DAYS = env_int("RECONCILIATION_LAG_DAYS", 1)
# Refunds are asked in three phases, the gateway called with no row locked. A refund still
# REQUESTED this many seconds after its last attempt (a timeout, a 5xx, a crashed worker) is
# asked again under the same key by the periodic payments.complete_refunds.
PAYMENT_REFUND_RETRY_AFTER = env_int("PAYMENT_REFUND_RETRY_AFTER_SECONDS", 120)
CELERY_BEAT_SCHEDULE["payments-complete-refunds"] = {"task": "payments.complete_refunds", "schedule": timedelta(minutes=5)}
CELERY_BEAT_SCHEDULE["payments-reconcile-gateways"] = {
    "task": "payments.reconcile_gateways",
    "schedule": timedelta(hours=24),
}
# A payout's transfer whose request got no answer (a timeout, a crash between the call and its
# record) is asked for again under its key; its money stays reserved meanwhile.
CELERY_BEAT_SCHEDULE["payments-complete-transfers"] = {
    "task": "payments.complete_transfers",
    "schedule": timedelta(minutes=10),
}

# --- Notifications (email, in-app inbox, signed webhooks) ---
# A failed delivery is tried again after base * 2**(tries-1) seconds (at most the maximum), for
# this long after the event, then given up (the delivery log keeps every try).
NOTIFICATIONS_RETRY_BASE_SECONDS = env_int("NOTIFICATIONS_RETRY_BASE_SECONDS", 30)
NOTIFICATIONS_RETRY_MAX_SECONDS = env_int("NOTIFICATIONS_RETRY_MAX_SECONDS", 3600)
NOTIFICATIONS_RETRY_FOR_SECONDS = env_int("NOTIFICATIONS_RETRY_FOR_SECONDS", 86400)
# A worker sending a delivery holds it this long; after that it is taken for dead and another may send.
NOTIFICATIONS_CLAIM_SECONDS = env_int("NOTIFICATIONS_CLAIM_SECONDS", 120)
# Reminders go out this many hours before a deadline (automatic confirmation, dispute, suspension).
NOTIFICATIONS_REMINDER_HOURS = env_int("NOTIFICATIONS_REMINDER_HOURS", 24)
# A store is told when a variant's stock falls to this level or below.
NOTIFICATIONS_LOW_STOCK_LEVEL = env_int("NOTIFICATIONS_LOW_STOCK_LEVEL", 5)
# Seconds to connect to and to hear back from a webhook receiver.
NOTIFICATIONS_WEBHOOK_TIMEOUT = (3.05, float(os.environ.get("NOTIFICATIONS_WEBHOOK_TIMEOUT_SECONDS", "10")))
# Webhooks to loopback, private and reserved addresses are refused (SSRF) unless this is on.
NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE_TARGETS = env_bool("NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE_TARGETS", False)
CELERY_BEAT_SCHEDULE["notifications-deliver-pending"] = {
    "task": "notifications.deliver_pending", "schedule": timedelta(minutes=1),
}
CELERY_BEAT_SCHEDULE["notifications-send-reminders"] = {
    "task": "notifications.send_reminders", "schedule": timedelta(minutes=15),
}

# --- Plugins, in the order the manager runs them ---
# Each issue's plugins add themselves here; PLUGINS in the environment replaces the list.
DEFAULT_PLUGINS: list[str] = [
    # Listing checks run before human review; both active by default.
    "plugins.listing.banned_words.BannedWordsPlugin",
    "plugins.listing.image_check.ImageCheckPlugin",
    # Carriers: the table-rate carrier is active by default, the HTTP carrier is off until configured.
    "plugins.logistics.table_rate.TableRateCarrierPlugin",
    "plugins.logistics.http_carrier.HttpCarrierPlugin",
    # Payment gateways: the dummy gateway is active by default; Stripe, Alipay and WeChat Pay are off until configured.
    "plugins.payments.dummy.DummyGatewayPlugin",
    "plugins.payments.stripe.StripeGatewayPlugin",
    "plugins.payments.alipay.AlipayGatewayPlugin",
    "plugins.payments.wechatpay.WeChatPayGatewayPlugin",
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
# Query limits, both APIs (backend/core/query_cost.py): a query over any of them is refused before
# it runs with QUERY_TOO_DEEP, TOO_MANY_ALIASES or QUERY_TOO_COMPLEX. Cost in Saleor's style: each
# object field 1, times first/last for a connection (a full page without them), times
# GRAPHQL_QUERY_COST_LIST_SIZE for a plain list (an object's own few rows: an order's lines, a
# product's variants and media, a dispute's messages). The default maximum admits a full page of
# orders with their disputes, messages and evidence, or two nested full pages (products -> vendor ->
# products), and refuses three (a million rows).
# Longer documents are refused while read, before the parser builds them (the suite's largest is ~1,300).
GRAPHQL_QUERY_MAX_TOKENS = env_int("GRAPHQL_QUERY_MAX_TOKENS", 5_000)
GRAPHQL_QUERY_MAX_DEPTH = env_int("GRAPHQL_QUERY_MAX_DEPTH", 15)
GRAPHQL_QUERY_MAX_ALIASES = env_int("GRAPHQL_QUERY_MAX_ALIASES", 30)
GRAPHQL_QUERY_MAX_COST = env_int("GRAPHQL_QUERY_MAX_COST", 500_000)
GRAPHQL_QUERY_COST_LIST_SIZE = env_int("GRAPHQL_QUERY_COST_LIST_SIZE", 10)
# Automatic persisted queries (Apollo's convention, backend/graphql/core/persisted_queries.py) on both
# APIs: documents kept in the cache for PERSISTED_QUERY_TTL seconds; longer ones run but are not kept.
PERSISTED_QUERIES_ENABLED = env_bool("PERSISTED_QUERIES_ENABLED", True)
PERSISTED_QUERY_TTL = env_int("PERSISTED_QUERY_TTL_SECONDS", 7 * 24 * 3600)
PERSISTED_QUERY_MAX_LENGTH = env_int("PERSISTED_QUERY_MAX_LENGTH", 20_000)
# Introspection stays on in every environment: the project and both schemas (schema.graphql)
# are public, so hiding them would only break tools; the limits above bound its queries too.
# GRAPHQL_INTROSPECTION=0 turns it off on both APIs.
GRAPHQL_INTROSPECTION = env_bool("GRAPHQL_INTROSPECTION", True)

# --- Browser clients (CORS) ---
# Shoppers' web apps on other origins may call the storefront API; only the origins listed here
# (comma separated, e.g. "https://shop.example.com"), none by default. The core API gets no CORS
# headers at all: it is called from the project's own pages and from servers.
CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS", "")
CORS_URLS_REGEX = r"^/storefront/graphql/$"
CORS_ALLOW_CREDENTIALS = False  # bearer tokens, never cookies
CORS_ALLOW_METHODS = ("GET", "OPTIONS", "POST")
# The storefront client names its visitor and the page it is on (backend/analytics/recorder.py).
CORS_ALLOW_HEADERS = (*cors_default_headers, "x-visitor-id", "x-page-url", "x-page-referrer")
CORS_PREFLIGHT_MAX_AGE = env_int("CORS_PREFLIGHT_MAX_AGE", 3600)

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": os.environ["CACHE_URL"],
    }
    if os.environ.get("CACHE_URL")
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}

# --- Production guards and HTTPS (see backend/core/production.py) ---
ALLOW_DUMMY_PAYMENTS = env_bool("ALLOW_DUMMY_PAYMENTS", False)
if not DEBUG:
    _problems = production_problems(
        secret_key=SECRET_KEY, allowed_hosts=ALLOWED_HOSTS, plugins=PLUGINS, allow_dummy_payments=ALLOW_DUMMY_PAYMENTS
    )
    if _problems:
        raise ImproperlyConfigured(refusal_message(_problems))

# Behind a TLS-terminating proxy: the header (and value) it sets, e.g. "X-Forwarded-Proto: https".
# Empty disables trusting any header (only set it when the proxy overwrites the header from clients).
_proxy_header = os.environ.get("SECURE_PROXY_SSL_HEADER", "X-Forwarded-Proto: https")
if _proxy_header.strip():
    _name, _, _value = _proxy_header.partition(":")
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _name.strip().upper().replace("-", "_"), _value.strip() or "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
# Health checks and metrics scrapes come over plain HTTP from inside the network.
SECURE_REDIRECT_EXEMPT = [r"^health/", r"^metrics/?$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

# Content Security Policy (django-csp) for the staff console (admin) and every other HTML page except
# the GraphiQL pages of the two API endpoints, which run their own inline bootstrap script.
CONTENT_SECURITY_POLICY = {
    "EXCLUDE_URL_PREFIXES": ["/graphql/", "/storefront/graphql/"],
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        # Media may be served from another origin (MEDIA_URL=https://cdn.example.com/media/).
        # blob: the console's previews of files picked for upload (object URLs, never fetched).
        "img-src": ["'self'", "data:", "blob:", *re.findall(r"^https?://[^/]+", MEDIA_URL)],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    },
}

# --- Observability ---
# /metrics: when METRICS_TOKEN is set, scrapes must send "Authorization: Bearer <token>".
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
# "json" (one JSON object per line, the production default) or "text".
LOG_FORMAT = os.environ.get("LOG_FORMAT", "text" if DEBUG else "json")
# Workers log through LOGGING below (JSON in production) instead of Celery's own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "backend.core.observability.RequestIdFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(levelname)s %(name)s %(message)s %(request_id)s",
            "timestamp": True,  # ISO 8601, UTC
            "rename_fields": {"levelname": "level", "name": "logger"},
        },
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id"],
            "formatter": "json" if LOG_FORMAT == "json" else "text",
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

# --- Members: tiers and points (backend/members) ---
# Points earned at an order's release per 1 unit of the currency of goods paid (times the tier's multiplier).
MEMBERS_POINTS_EARN_PER_UNIT = Decimal(os.environ.get("MEMBERS_POINTS_EARN_PER_UNIT", "1"))
# Points that make 1 unit of the currency at checkout (100: 1 point is 0.01 CNY); the ledger values points so.
MEMBERS_POINTS_PER_UNIT = env_int("MEMBERS_POINTS_PER_UNIT", 100)
# Points take at most this percentage of a checkout's goods.
MEMBERS_POINTS_MAX_PERCENT = Decimal(os.environ.get("MEMBERS_POINTS_MAX_PERCENT", "50"))
# Points expire this many days after they were earned; shoppers are warned this many days before.
MEMBERS_POINTS_EXPIRY_DAYS = env_int("MEMBERS_POINTS_EXPIRY_DAYS", 365)
MEMBERS_POINTS_EXPIRY_WARNING_DAYS = env_int("MEMBERS_POINTS_EXPIRY_WARNING_DAYS", 30)
# Tiers count the spend on completed orders over this many days (rolling).
MEMBERS_TIER_WINDOW_DAYS = env_int("MEMBERS_TIER_WINDOW_DAYS", 365)
# Members handled per transaction by the periodic work.
MEMBERS_BATCH_SIZE = env_int("MEMBERS_BATCH_SIZE", 500)
CELERY_BEAT_SCHEDULE["members-expire-points"] = {"task": "members.expire_points", "schedule": timedelta(hours=1)}
CELERY_BEAT_SCHEDULE["members-recompute-tiers"] = {"task": "members.recompute_tiers", "schedule": timedelta(hours=24)}

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
