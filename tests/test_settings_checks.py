"""Start-up refuses, with a message an operator can act on, settings it cannot run with."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from crm.access.settings_checks import check_required_secrets

ROOT = Path(__file__).resolve().parent.parent
GOOD = {
    "SECRET_KEY": "s" * 50,
    "LCRYPTO_ENCRYPT_SECRET_KEY": "ab" * 32,
    "LCRYPTO_HASH_SECRET_KEY": "h" * 32,
}


def start(**variables: str) -> subprocess.CompletedProcess:
    """Start Django with the production settings module and only `variables` (plus GOOD's
    secrets unless overridden), and print the access-control mode it runs in."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "CRM_IGNORE_DOTENV": "true",
        "DATABASE_URL": "sqlite:///:memory:",
        **GOOD,
        **variables,
    }
    script = (
        "import django; django.setup(); "
        "from crm.access import access_manager; print(access_manager.mode())"
    )
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_good_settings_pass():
    assert check_required_secrets(dict(GOOD)) is None
    started = start()
    assert started.returncode == 0, started.stderr[-2000:]
    assert started.stdout.splitlines()[-1] == "off"
    # The same process refuses to start without one of them: GOOD is what makes it start.
    refused = start(SECRET_KEY="")
    assert refused.returncode != 0
    assert "Missing required setting(s): SECRET_KEY." in refused.stderr


def test_an_access_manager_address_starts_the_access_manager_mode():
    """It used to refuse to start (delegation was not available); now it is the mode."""
    started = start(PLUGIN_AUTH_ENABLED="true", PLUGIN_AUTH_ADDRESS="http://plugin-auth:4000")

    assert started.returncode == 0, started.stderr[-2000:]
    assert started.stdout.splitlines()[-1] == "access_manager"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"SECRET_KEY": ""}, "Missing required setting(s): SECRET_KEY."),
        (
            {"LCRYPTO_ENCRYPT_SECRET_KEY": "", "LCRYPTO_HASH_SECRET_KEY": ""},
            "Missing required setting(s): LCRYPTO_ENCRYPT_SECRET_KEY, LCRYPTO_HASH_SECRET_KEY.",
        ),
        ({"LCRYPTO_ENCRYPT_SECRET_KEY": "not-hex"}, "must be a hex string"),
        ({"LCRYPTO_ENCRYPT_SECRET_KEY": "ab" * 10}, "must decode to 16, 24 or 32 bytes"),
        ({"LCRYPTO_PREVIOUS_ENCRYPT_SECRET_KEYS": ["zz"]}, "PREVIOUS_ENCRYPT_SECRET_KEYS[0]"),
        ({"LCRYPTO_HASH_SECRET_KEY": "short"}, "at least 32 characters"),
        ({"PLUGIN_AUTH_ADDRESS": "plugin-auth:4000"}, "must be an http(s) URL"),
        ({"PLUGIN_AUTH_ADDRESS": "ftp://plugin-auth"}, "must be an http(s) URL"),
        ({"PLUGIN_AUTH_TIMEOUT_SECONDS": 0}, "PLUGIN_AUTH_TIMEOUT_SECONDS must be greater"),
        (
            {
                "DATABASES": {"default": {"ENGINE": "crm.db.postgresql"}},
                "DATABASE_REPLICA_URLS": ["postgres://ro@r1/crm", "sqlite:///replica.sqlite3"],
            },
            "DATABASE_REPLICA_URLS entry 2 is not a PostgreSQL URL",
        ),
        (
            {
                "DATABASES": {"default": {"ENGINE": "crm.db.postgresql"}},
                "DATABASE_REPLICA_URLS": ["mysql://ro@r1/crm"],
            },
            "DATABASE_REPLICA_URLS entry 1 is not a PostgreSQL URL",
        ),
        (
            {
                "DATABASES": {"default": {"ENGINE": "crm.db.sqlite"}},
                "DATABASE_REPLICA_URLS": ["postgres://ro@r1/crm"],
            },
            "DATABASE_REPLICA_URLS needs a PostgreSQL DATABASE_URL",
        ),
    ],
)
def test_bad_settings_refuse_to_start(change, message):
    with pytest.raises(ImproperlyConfigured) as excinfo:
        check_required_secrets({**GOOD, **change})
    assert message in str(excinfo.value)


def test_a_refused_replica_url_is_not_echoed():
    """It may carry a password; the message names the entry by its position."""
    url = "mysql://ro:pw-7f3a9c@db-replica.internal/crm"
    with pytest.raises(ImproperlyConfigured) as excinfo:
        check_required_secrets(
            {
                **GOOD,
                "DATABASES": {"default": {"ENGINE": "crm.db.postgresql"}},
                "DATABASE_REPLICA_URLS": [url],
            }
        )
    assert "entry 1" in str(excinfo.value)
    assert "pw-7f3a9c" not in str(excinfo.value) and "db-replica" not in str(excinfo.value)
