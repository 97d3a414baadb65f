"""Facegate settings, read from environment variables.

Without any variable set, the site runs with embedded defaults: SQLite and
media files under ./var, and photo processing in a background thread of the
web process. Production sets DATABASE_URL, CELERY_BROKER_URL and the S3
variables; see the README for the full list.
"""

import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from config.env import env_bool, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("FACEGATE_VAR_DIR", str(BASE_DIR / "var")))

# Off by default: a debug page shows settings and code to anyone who can reach the site.
DEBUG = env_bool("DJANGO_DEBUG", False)


def _local_secret_key() -> str:
    """Return the key kept in VAR_DIR, creating it on first use, for a site run without DJANGO_SECRET_KEY."""
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or _local_secret_key()

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "accounts",
    "events",
    "recognition",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "config.middleware.private_pages_not_cached",
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
                "django.template.context_processors.i18n",
            ],
        },
    },
]

# SQLite by default so that a fresh clone runs; production sets DATABASE_URL.
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite creates the file but not its folder; a fresh clone has no var/.
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # The background thread and the request threads share the file: wait for
    # the lock instead of failing at once.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "events:home"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("fr", _("French"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "UTC"
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("DJANGO_STATIC_ROOT", str(VAR_DIR / "static")))

# Media files are never served by URL: the views in events.views check the
# visibility rule, then events.delivery hands the file over. MEDIA_URL stays
# unset on purpose.
MEDIA_ROOT = Path(env_str("FACEGATE_MEDIA_ROOT", str(VAR_DIR / "media")))
STORAGE_BACKEND = env_str("FACEGATE_STORAGE", "local")
if STORAGE_BACKEND == "local":
    _default_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": MEDIA_ROOT, "base_url": None},
    }
elif STORAGE_BACKEND == "s3":
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env_str("FACEGATE_S3_BUCKET"),
            "endpoint_url": env_str("FACEGATE_S3_ENDPOINT_URL", "") or None,
            "region_name": env_str("FACEGATE_S3_REGION", "") or None,
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
else:
    raise ImproperlyConfigured(f"FACEGATE_STORAGE must be 'local' or 's3', not {STORAGE_BACKEND!r}.")
STORAGES = {
    "default": _default_storage,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# The sender of an image that the consent rule allowed (events/delivery.py):
# Django itself ("stream"), the web server ("x-accel" for nginx, "x-sendfile"
# for Apache or lighttpd), or S3 through a redirect to a presigned URL
# ("signed-url").
FACEGATE_MEDIA_DELIVERY = env_str("FACEGATE_MEDIA_DELIVERY", "stream")
# The nginx location, marked internal, that serves MEDIA_ROOT for "x-accel".
FACEGATE_MEDIA_INTERNAL_PREFIX = env_str("FACEGATE_MEDIA_INTERNAL_PREFIX", "/protected-media/")
# Lifetime of a presigned URL for "signed-url", in seconds: enough to follow
# the redirect, too short to pass the URL around. A URL stays valid after a
# change of choice until it expires, hence the cap of an hour.
FACEGATE_SIGNED_URL_SECONDS = env_int("FACEGATE_SIGNED_URL_SECONDS", 60)
_DELIVERY_STORAGES = {"stream": ("local", "s3"), "x-accel": ("local",), "x-sendfile": ("local",), "signed-url": ("s3",)}
if FACEGATE_MEDIA_DELIVERY not in _DELIVERY_STORAGES:
    raise ImproperlyConfigured(
        f"FACEGATE_MEDIA_DELIVERY must be one of {', '.join(_DELIVERY_STORAGES)}, not {FACEGATE_MEDIA_DELIVERY!r}."
    )
if STORAGE_BACKEND not in _DELIVERY_STORAGES[FACEGATE_MEDIA_DELIVERY]:
    raise ImproperlyConfigured(
        f"FACEGATE_MEDIA_DELIVERY={FACEGATE_MEDIA_DELIVERY} does not work with FACEGATE_STORAGE={STORAGE_BACKEND}: "
        "use x-accel or x-sendfile with local storage, and signed-url or stream with s3."
    )
if not (FACEGATE_MEDIA_INTERNAL_PREFIX.startswith("/") and FACEGATE_MEDIA_INTERNAL_PREFIX.endswith("/")):
    raise ImproperlyConfigured(
        f"FACEGATE_MEDIA_INTERNAL_PREFIX={FACEGATE_MEDIA_INTERNAL_PREFIX!r} must start and end with '/', "
        "like /protected-media/."
    )
if not 1 <= FACEGATE_SIGNED_URL_SECONDS <= 3600:
    raise ImproperlyConfigured(
        f"FACEGATE_SIGNED_URL_SECONDS={FACEGATE_SIGNED_URL_SECONDS} must be between 1 and 3600 seconds."
    )

FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# Photos per gallery page: each page costs the same few queries, so an event
# of any size renders in constant time.
FACEGATE_GALLERY_PAGE_SIZE = env_int("FACEGATE_GALLERY_PAGE_SIZE", 60)

# The views accept FACEGATE_MAX_FILES_PER_UPLOAD files per request and name
# the limit when it is passed. Django's own limit sits far above, because past
# it Django returns a bare 400 before any view runs.
FACEGATE_MAX_FILES_PER_UPLOAD = env_int("FACEGATE_MAX_FILES_PER_UPLOAD", 200)
DATA_UPLOAD_MAX_NUMBER_FILES = 10 * FACEGATE_MAX_FILES_PER_UPLOAD
# The largest single upload accepted, in bytes. 50 MB covers full-size camera
# JPEGs and HEICs with room to spare.
FACEGATE_MAX_UPLOAD_BYTES = env_int("FACEGATE_MAX_UPLOAD_BYTES", 50_000_000)
# Selfies are portraits: a smaller pixel limit and a count per person keep
# anyone who signs up from filling the queue.
FACEGATE_MAX_SELFIE_PIXELS = env_int("FACEGATE_MAX_SELFIE_PIXELS", 30_000_000)
FACEGATE_MAX_SELFIES_PER_PERSON = env_int("FACEGATE_MAX_SELFIES_PER_PERSON", 20)
# The enrollment page recommends at least this many usable selfies. The
# classifier lets the FACEGATE_KNN_NEIGHBORS (3) nearest selfies vote, so for
# a person with fewer selfies, other people's selfies fill the vote.
FACEGATE_RECOMMENDED_SELFIES = env_int("FACEGATE_RECOMMENDED_SELFIES", 3)
# The personal data download renders at most this many photos of the person
# during the request, and an 80-megapixel original takes 2 to 3 s to render.
FACEGATE_MAX_EXPORT_PHOTOS = env_int("FACEGATE_MAX_EXPORT_PHOTOS", 100)

# Background processing. Without a broker, tasks run in a thread of the web
# process (see recognition.queue); with one, on Celery workers.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "")
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", "") or None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# A photo or selfie left "processing" for longer than this by a worker that
# died is claimed again. One photo takes well under a second here.
FACEGATE_STALE_JOB_SECONDS = env_int("FACEGATE_STALE_JOB_SECONDS", 600)

# Recognition. Defaults and their sources are in docs/recognition.md.
FACEGATE_MODEL_DIR = Path(env_str("FACEGATE_MODEL_DIR", str(VAR_DIR / "models")))
FACEGATE_DETECTOR = env_str("FACEGATE_DETECTOR", "opencv")
FACEGATE_MAX_IMAGE_PIXELS = env_int("FACEGATE_MAX_IMAGE_PIXELS", 80_000_000)
FACEGATE_DETECTION_MAX_SIDE = env_int("FACEGATE_DETECTION_MAX_SIDE", 1280)
FACEGATE_DETECTION_FINE_SIDE = env_int("FACEGATE_DETECTION_FINE_SIDE", 2560)
FACEGATE_MIN_FACE_PIXELS = env_int("FACEGATE_MIN_FACE_PIXELS", 20)
# A mirrored border of this share of the longer side, so that faces cut by the frame are found.
FACEGATE_DETECTION_EDGE_PADDING = env_float("FACEGATE_DETECTION_EDGE_PADDING", 0.10)
# Search every photo turned by a quarter, a half and three quarters too, for
# faces lying on their side. With false, the turns are searched only when no
# face is upright.
FACEGATE_DETECT_ALL_TURNS = env_bool("FACEGATE_DETECT_ALL_TURNS", True)
FACEGATE_MIN_DETECTION_CONFIDENCE = env_float("FACEGATE_MIN_DETECTION_CONFIDENCE", 0.90)
FACEGATE_MATCH_THRESHOLD = env_float("FACEGATE_MATCH_THRESHOLD", 0.85)
FACEGATE_UNCERTAIN_THRESHOLD = env_float("FACEGATE_UNCERTAIN_THRESHOLD", 1.10)
FACEGATE_MATCH_MARGIN = env_float("FACEGATE_MATCH_MARGIN", 0.05)
FACEGATE_KNN_NEIGHBORS = env_int("FACEGATE_KNN_NEIGHBORS", 3)
# Faces narrower than this, or cut by the frame by more than this share, are
# detected and protected but never named: their embeddings are unreliable.
FACEGATE_MIN_NAMED_FACE_PIXELS = env_int("FACEGATE_MIN_NAMED_FACE_PIXELS", 48)
FACEGATE_MAX_NAMED_CUT_OFF = env_float("FACEGATE_MAX_NAMED_CUT_OFF", 0.25)
# Unidentified faces share a cluster only when every pair of them is closer
# than this L2 distance between unit embeddings (complete linkage).
FACEGATE_CLUSTER_DISTANCE = env_float("FACEGATE_CLUSTER_DISTANCE", 0.88)
if not 0 < FACEGATE_CLUSTER_DISTANCE < 2:
    raise ImproperlyConfigured(f"FACEGATE_CLUSTER_DISTANCE={FACEGATE_CLUSTER_DISTANCE} must be between 0 and 2.")

# The real face photos used by tests, benchmarks and the demo. They are not
# part of the repository.
FACEGATE_FACES_DIR = Path(env_str("FACEGATE_FACES_DIR", str(BASE_DIR.parent / "shared" / "data" / "faces")))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("FACEGATE_LOG_LEVEL", "INFO")},
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
}

# Behind a TLS-terminating proxy in production, set both to true.
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", False)
if env_bool("DJANGO_BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
