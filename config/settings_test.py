"""Settings for the test suite: the real settings with test-only secrets and speed-ups."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-that-is-long-enough-for-django-checks")
os.environ.setdefault("KEYWARD_HTTPS", "0")

from config.settings import *  # noqa: F403

# Argon2 stays first in production (tested against config.settings); tests
# hash many passwords and want a fast hasher.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# The manifest needs collectstatic; tests and the live server read files directly.
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Limits and caches in memory: fast, and cleared by every test (tests/conftest.py).
# The database cache and Redis have their own tests (tests/accounts/test_*cache*.py).
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "keyward-tests",
    }
}
MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
# Serve files straight from the app and project static folders; no collectstatic.
WHITENOISE_AUTOREFRESH = True
# A fixed test key so the retrievable reveal policy can be exercised.
# Tests push usage counts to Redis when they say so (usage.push, rollups.flush): a thread
# pushing every second would race their assertions.
KEYWARD_USAGE_PUSH_SECONDS = 0
KEYWARD_TOKEN_ENCRYPTION_KEYS = ["dGVzdC1vbmx5LWtleS10aGF0LWlzLTMyLWJ5dGVzLSE="]
