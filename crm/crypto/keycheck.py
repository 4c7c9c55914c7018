"""Key check values: is the configured key the key the data was written with?

A well-formed but wrong `LCRYPTO_ENCRYPT_SECRET_KEY` passes every format check, and then every
read of an encrypted column fails (a 500 on each request) while the process looks healthy; a
wrong `LCRYPTO_HASH_SECRET_KEY` silently finds nothing. So the first `migrate` stores a known
plaintext encrypted with the encryption key and a search hash of a known value (one `KeyCheck`
row), key rotation rewrites it like any other row, and:

* start-up (`config/wsgi.py`: gunicorn and `runserver`) refuses to serve with keys that cannot
  read it, with a message an operator can act on;
* `/readyz` reports the keys as a check of its own (503 while they are wrong).
"""

import logging
import uuid
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, models
from django.utils import timezone

from crm.crypto.encryption import DecryptionError, EncryptedTextField
from crm.crypto.search import lookup_hashes, search_hash

logger = logging.getLogger("crm.crypto.keycheck")

PLAINTEXT = "crm-key-check-v1"
HASH_SCOPE = uuid.UUID(int=0)  # not an organization: a scope of its own for the check hash
HASH_FIELD = "crm.key-check"


def check_hash() -> str:
    """The key check's search hash under the current hash key."""
    return search_hash(HASH_SCOPE, HASH_FIELD, PLAINTEXT)


class KeyCheck(models.Model):
    """One row: a known plaintext encrypted with the encryption key and a search hash of a
    known value, written by the migration that creates the table and rewritten by key rotation
    like any other row. `key_state` compares the configured keys with it, so a well-formed but
    wrong key stops the start instead of turning every read into a 500."""

    SINGLETON = 1

    id = models.PositiveSmallIntegerField(primary_key=True, default=SINGLETON, editable=False)
    value = EncryptedTextField()
    hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return "encryption and hash key check"

    def recompute_search_hashes(self) -> list[str]:
        """Hash-key rotation (`crm.crypto.rotation`): the check hash under the current key."""
        new = check_hash()
        if new == self.hash:
            return []
        self.hash = new
        return ["hash"]


@dataclass(frozen=True)
class KeyState:
    encryption_ok: bool
    hashes_ok: bool
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.encryption_ok and self.hashes_ok


def key_state() -> KeyState:
    """Compare the configured keys with the stored check row (one read by primary key).
    Raises `DatabaseError` when the database cannot be asked. The row is written by
    `migrate` (crm 0002_key_check_row); without it there is nothing to compare (logged)."""
    try:
        check = KeyCheck.objects.filter(pk=KeyCheck.SINGLETON).first()
    except DecryptionError:
        return KeyState(
            encryption_ok=False,
            hashes_ok=True,
            problem="LCRYPTO_ENCRYPT_SECRET_KEY (and LCRYPTO_PREVIOUS_ENCRYPT_SECRET_KEYS) "
            "cannot decrypt the data in this database: it was written with another key. "
            "Configure the key the data was written with (a new key goes in "
            "LCRYPTO_ENCRYPT_SECRET_KEY only together with the old one in "
            "LCRYPTO_PREVIOUS_ENCRYPT_SECRET_KEYS, then run rotate_encryption_keys).",
        )
    if check is None:
        logger.warning("no key check row: the keys cannot be verified")
        return KeyState(encryption_ok=True, hashes_ok=True)
    encryption_ok = check.value == PLAINTEXT
    hashes_ok = check.hash in lookup_hashes(HASH_SCOPE, HASH_FIELD, PLAINTEXT)
    problem = (
        ""
        if hashes_ok
        else (
            "LCRYPTO_HASH_SECRET_KEY (and LCRYPTO_PREVIOUS_HASH_SECRET_KEYS) do not match the "
            "search hashes in this database: searches and uniqueness would silently miss. "
            "Configure the hash key the data was written with."
        )
    )
    return KeyState(encryption_ok=encryption_ok, hashes_ok=hashes_ok, problem=problem)


def refuse_to_start_with_wrong_keys() -> None:
    """Called once before serving. Wrong keys stop the start with their message; an
    unreachable database does not (the service starts, `/readyz` says it is not ready)."""
    try:
        state = key_state()
    except DatabaseError as exc:
        logger.warning("key check skipped: database unavailable (%s)", type(exc).__name__)
        return
    if not state.ok:
        raise ImproperlyConfigured(state.problem)


def ensure_key_check(using: str = "default", **kwargs) -> None:
    """`post_migrate`: write the check when its table exists but holds no row (a database
    flushed with `manage.py flush`, or by a test). The migration writes it the first time."""
    from django.db import connections

    if KeyCheck._meta.db_table not in connections[using].introspection.table_names():
        return
    if not KeyCheck.objects.using(using).exists():
        KeyCheck.objects.using(using).create(pk=1, value=PLAINTEXT, hash=check_hash())
