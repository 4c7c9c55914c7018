"""A well-formed but wrong key is detected (crm.crypto.keycheck): start-up refuses with a message
naming the key, instead of a 500 on every read."""

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection

from crm.crypto import keycheck
from crm.models import KeyCheck

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
OTHER_KEY = "cd" * 32
OTHER_HASH_KEY = "another-hash-key-of-at-least-32-characters"


def test_migrate_wrote_the_check_encrypted():
    check = KeyCheck.objects.get()
    assert check.value == keycheck.PLAINTEXT
    with connection.cursor() as cursor:
        cursor.execute("SELECT value FROM crm_keycheck")
        raw = cursor.fetchone()[0]
    assert keycheck.PLAINTEXT.encode() not in bytes(raw)
    assert keycheck.key_state().ok


def test_a_wrong_encryption_key_is_named_and_refuses_to_start(settings):
    settings.LCRYPTO_ENCRYPT_SECRET_KEY = OTHER_KEY
    state = keycheck.key_state()
    assert (state.encryption_ok, state.hashes_ok) == (False, True)
    with pytest.raises(ImproperlyConfigured, match="LCRYPTO_ENCRYPT_SECRET_KEY"):
        keycheck.refuse_to_start_with_wrong_keys()


def test_a_new_key_with_the_old_one_as_previous_is_fine(settings):
    old = settings.LCRYPTO_ENCRYPT_SECRET_KEY
    settings.LCRYPTO_ENCRYPT_SECRET_KEY = OTHER_KEY
    settings.LCRYPTO_PREVIOUS_ENCRYPT_SECRET_KEYS = [old]
    assert keycheck.key_state().ok


def test_a_wrong_hash_key_is_named(settings):
    settings.LCRYPTO_HASH_SECRET_KEY = OTHER_HASH_KEY
    state = keycheck.key_state()
    assert (state.encryption_ok, state.hashes_ok) == (True, False)
    with pytest.raises(ImproperlyConfigured, match="LCRYPTO_HASH_SECRET_KEY"):
        keycheck.refuse_to_start_with_wrong_keys()


def test_key_rotation_rewrites_the_check_so_the_old_keys_can_go(settings):
    old_key, old_hash = settings.LCRYPTO_ENCRYPT_SECRET_KEY, settings.LCRYPTO_HASH_SECRET_KEY
    settings.LCRYPTO_ENCRYPT_SECRET_KEY = OTHER_KEY
    settings.LCRYPTO_PREVIOUS_ENCRYPT_SECRET_KEYS = [old_key]
    settings.LCRYPTO_HASH_SECRET_KEY = OTHER_HASH_KEY
    settings.LCRYPTO_PREVIOUS_HASH_SECRET_KEYS = [old_hash]
    call_command("rotate_encryption_keys", stdout=StringIO())
    settings.LCRYPTO_PREVIOUS_ENCRYPT_SECRET_KEYS = []
    settings.LCRYPTO_PREVIOUS_HASH_SECRET_KEYS = []
    assert keycheck.key_state().ok


def test_wsgi_start_with_a_wrong_key_exits_with_the_message(tmp_path):
    """The real entry point of gunicorn and runserver, in a fresh process."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    migrate = [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"]
    subprocess.run(migrate, cwd=ROOT, env=env, check=True, timeout=120)
    start = [sys.executable, "-c", "import config.wsgi"]
    ok = subprocess.run(start, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    wrong = {**env, "LCRYPTO_ENCRYPT_SECRET_KEY": OTHER_KEY}
    refused = subprocess.run(start, cwd=ROOT, env=wrong, capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0
    assert "ImproperlyConfigured" in refused.stderr
    assert "LCRYPTO_ENCRYPT_SECRET_KEY" in refused.stderr


def test_readyz_reports_wrong_keys(client, settings, monkeypatch):
    monkeypatch.setattr("crm.api.views._keys_verified", False)
    settings.LCRYPTO_ENCRYPT_SECRET_KEY = OTHER_KEY
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": {"status": "up"}, "keys": {"status": "down"}}


def test_readyz_reports_good_keys(client, monkeypatch):
    monkeypatch.setattr("crm.api.views._keys_verified", False)
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": {"status": "up"}, "keys": {"status": "up"}}


@pytest.mark.django_db(transaction=True)  # as served: not inside a test's transaction
def test_readyz_asks_the_keys_again_on_a_new_connection_after_an_outage(client, monkeypatch):
    """After a database outage this thread's connection may be broken while the readiness
    probe's own is fresh: the key check drops it and asks once more (no false "keys down")."""
    from django.db import OperationalError

    from crm.crypto import keycheck

    monkeypatch.setattr("crm.api.views._keys_verified", False)
    real, calls = keycheck.key_state, []

    def broken_once():
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return real()

    monkeypatch.setattr(keycheck, "key_state", broken_once)
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["keys"] == {"status": "up"}
    assert len(calls) == 2
