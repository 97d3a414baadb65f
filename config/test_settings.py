"""Settings for the test suite: real PostgreSQL, a throwaway media folder, a fast hasher."""

import os
import tempfile
from pathlib import Path

import dj_database_url

from config.settings import *  # noqa: F403

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("FACEGATE_TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/facegate")
    )
}
FACEGATE_TEST_REDIS_URL = os.environ.get("FACEGATE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="facegate-test-media-"))
STORAGES["default"] = {  # noqa: F405
    "BACKEND": "django.core.files.storage.FileSystemStorage",
    "OPTIONS": {"location": MEDIA_ROOT, "base_url": None},
}
CELERY_BROKER_URL = ""
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LANGUAGE_CODE = "en"
