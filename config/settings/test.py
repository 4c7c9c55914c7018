"""Test settings: fixed, throw-away keys; fast password hashing; the database from DATABASE_URL
(SQLite in memory by default, PostgreSQL when the variable points at it)."""

import os
import tempfile

os.environ["CRM_IGNORE_DOTENV"] = "true"
os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production-" + "x" * 20)
os.environ.setdefault("LCRYPTO_ENCRYPT_SECRET_KEY", "0" * 63 + "1")
os.environ.setdefault("LCRYPTO_HASH_SECRET_KEY", "test-hash-key-" + "h" * 40)
os.environ.setdefault("DATABASE_URL", "sqlite:///:memory:")

from config.settings.base import *  # noqa: F403

if DATABASES["default"]["ENGINE"] == "crm.db.sqlite":  # noqa: F405
    # A file (not :memory:) so threads in concurrency tests share one database and queue on
    # its lock, like gunicorn workers would. One file per process: parallel runs never collide.
    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": os.path.join(tempfile.gettempdir(), f"crm-test-{os.getpid()}.sqlite3")
    }

# The suite runs where `make run` does, with access control off unless a test turns it on: a
# development environment (crm.access.checks), not a deployment to warn about. Set here, not in
# os.environ, so the servers the tests start with production settings stay production.
ENV_NAME = "development"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
