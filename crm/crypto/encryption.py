"""Encryption at rest with django-cryptography, keyed from `LCRYPTO_ENCRYPT_SECRET_KEY`.

django-cryptography's fields build one `FernetBytes` at import time whose cipher key comes from
`CRYPTOGRAPHY_KEY` and whose signer (the HMAC over every value) is keyed with `SECRET_KEY`. That
would make every stored value unreadable after a `SECRET_KEY` rotation and offers no key
rotation at all. Here both the cipher key and the signer key are derived (HKDF-SHA256, distinct
labels) from `LCRYPTO_ENCRYPT_SECRET_KEY`, and a `KeyRing` of the current key plus
`LCRYPTO_PREVIOUS_ENCRYPT_SECRET_KEYS` decrypts values written under any of them while always
encrypting with the current key. `manage.py rotate_encryption_keys` re-encrypts rows so the old
keys can then be dropped.

The on-disk format is django-cryptography's own (version byte, timestamp, IV, AES-CBC
ciphertext, HMAC-SHA256 over all of it) wrapping a pickled value, so `EncryptedTextField` and
`EncryptedJSONField` are ordinary `EncryptedMixin` fields with a different key source; the
`SealedBox` that reads and writes that format keeps its keys ready between values (the
library rebuilds them per value, half the cost of a column).
"""

import contextlib
import contextvars
import hashlib
import hmac
import os
import struct
import time
from binascii import unhexlify
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.signals import setting_changed
from django.db import models
from django.dispatch import receiver
from django_cryptography.fields import get_encrypted_field


class DecryptionError(Exception):
    """A stored value could not be decrypted with any configured key."""


def _derive(secret: bytes, label: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label).derive(secret)


class SealedBox:
    """django-cryptography's `FernetBytes` format, byte for byte, with its key material built
    once: `0x80 | timestamp (8 bytes) | IV (16) | AES-CBC(PKCS7(data)) | HMAC-SHA256 (32)`.

    The library builds a new HMAC and a new AES key schedule for every value (about half the
    cost of encrypting or decrypting one column); here the HMAC is keyed once and copied per
    value and the AES algorithm object is reused. The HMAC is verified before anything is
    decrypted, so the padding check cannot act as an oracle. `tests/test_encryption_format.py`
    checks both directions against the library's own implementation."""

    VERSION = b"\x80"
    HEADER = struct.Struct(">cQ")
    MAC_SIZE = hashlib.sha256().digest_size
    BLOCK = 16

    def __init__(self, cipher_key: bytes, signer_key: bytes) -> None:
        self._aes = algorithms.AES(cipher_key)
        self._mac = hmac.new(signer_key, digestmod=hashlib.sha256)

    def _signature(self, signed: bytes) -> bytes:
        mac = self._mac.copy()
        mac.update(signed)
        return mac.digest()

    def encrypt(self, data: bytes) -> bytes:
        pad = self.BLOCK - len(data) % self.BLOCK
        iv = os.urandom(self.BLOCK)
        encryptor = Cipher(self._aes, modes.CBC(iv)).encryptor()
        body = (
            self.HEADER.pack(self.VERSION, int(time.time()))
            + iv
            + encryptor.update(bytes(data) + bytes((pad,)) * pad)
            + encryptor.finalize()
        )
        return body + self._signature(body)

    def verify(self, token: bytes) -> bytes | None:
        """The signed part (header, IV, ciphertext) when this key signed `token`, else None."""
        token = bytes(token)
        minimum = self.HEADER.size + 2 * self.BLOCK + self.MAC_SIZE
        if len(token) < minimum or token[:1] != self.VERSION:
            return None
        signed, signature = token[: -self.MAC_SIZE], token[-self.MAC_SIZE :]
        return signed if hmac.compare_digest(self._signature(signed), signature) else None

    def decrypt(self, token: bytes) -> bytes | None:
        """The plaintext, or None when this key did not write `token`."""
        signed = self.verify(token)
        if signed is None:
            return None
        start = self.HEADER.size + self.BLOCK
        iv, ciphertext = signed[self.HEADER.size : start], signed[start:]
        if len(ciphertext) % self.BLOCK:
            return None
        decryptor = Cipher(self._aes, modes.CBC(iv)).decryptor()
        padded = decryptor.update(ciphertext) + decryptor.finalize()
        pad = padded[-1]
        if not 1 <= pad <= self.BLOCK or padded[-pad:] != bytes((pad,)) * pad:
            return None
        return padded[:-pad]


def sealed_box_for(hex_key: str) -> SealedBox:
    """A SealedBox whose cipher and signer keys both derive from one hex secret."""
    secret = unhexlify(hex_key)
    return SealedBox(
        _derive(secret, b"crm.crypto.encryption.cipher.v1"),
        _derive(secret, b"crm.crypto.encryption.signer.v1"),
    )


class KeyRing:
    """The current key (encrypts) and the previous keys (decrypt only)."""

    def __init__(self, current: str, previous: list[str]) -> None:
        self.current = sealed_box_for(current)
        self.previous = [sealed_box_for(key) for key in previous if key and key != current]

    def encrypt(self, data: bytes) -> bytes:
        return self.current.encrypt(data)

    def decrypt_with_index(self, token: bytes) -> tuple[bytes, int]:
        """Plaintext and the index of the key that opened it (0 = current)."""
        for index, box in enumerate([self.current, *self.previous]):
            plaintext = box.decrypt(token)
            if plaintext is not None:
                return plaintext, index
        raise DecryptionError("no configured key decrypts this value")

    def decrypt(self, token: bytes, ttl: int | None = None) -> bytes:
        return self.decrypt_with_index(token)[0]

    def is_current(self, token: bytes) -> bool:
        """True when the value was written with the current key (rotation skips it)."""
        return self.current.verify(token) is not None


@lru_cache(maxsize=1)
def keyring() -> KeyRing:
    return KeyRing(
        settings.LCRYPTO_ENCRYPT_SECRET_KEY, list(settings.LCRYPTO_PREVIOUS_ENCRYPT_SECRET_KEYS)
    )


@receiver(setting_changed)
def _reset_keyring(*, setting: str, **kwargs: Any) -> None:
    if setting.startswith("LCRYPTO_"):
        keyring.cache_clear()


# --- Rows no configured key reads, shown rather than failing -----------------------------------
# A row written under a key that is gone (lost, or dropped from the previous keys too early)
# raises `DecryptionError` when loaded: right for the API and the commands, which must not
# answer with a guess. A person browsing a list needs the other rows and a mark on that one:
# inside `reading_unreadable_as_marks()` such a value loads as a mark instead (text: the
# sentence below; JSON: an empty mapping), which no save can write back.

UNREADABLE_TEXT = "⚠ cannot be read with the current keys"
_marks: contextvars.ContextVar[bool] = contextvars.ContextVar("unreadable_marks", default=False)


class UnreadableText(str):
    """A text value no configured key decrypts (its display is `UNREADABLE_TEXT`)."""


class UnreadableJSON(dict):
    """A JSON value no configured key decrypts (empty)."""

    def __str__(self) -> str:
        return UNREADABLE_TEXT


@contextlib.contextmanager
def reading_unreadable_as_marks() -> Iterator[None]:
    """Inside, a value no configured key decrypts loads as a mark, not an error."""
    token = _marks.set(True)
    try:
        yield
    finally:
        _marks.reset(token)


def is_unreadable(value: Any) -> bool:
    return isinstance(value, UnreadableText | UnreadableJSON)


def unreadable_fields(obj: models.Model) -> list[str]:
    """The names of `obj`'s encrypted fields that loaded as marks."""
    return [
        field.name
        for field in obj._meta.concrete_fields
        if isinstance(field, _KeyRingSource) and is_unreadable(field.value_from_object(obj))
    ]


class _KeyRingSource:
    """Replaces the import-time `FernetBytes` of django-cryptography with the live key ring,
    and loads an undecryptable value as a mark where asked (`reading_unreadable_as_marks`)."""

    wasinstance = True  # deconstruct() keeps this class's own import path

    def from_db_value(self, value: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().from_db_value(value, *args, **kwargs)
        except DecryptionError:
            if not _marks.get():
                raise
            json = isinstance(self, models.JSONField)
            return UnreadableJSON() if json else UnreadableText(UNREADABLE_TEXT)

    def get_db_prep_save(self, value: Any, connection: Any) -> Any:
        if is_unreadable(value):  # never overwrite what a key may still read one day
            raise DecryptionError(f"{self.name}: an unreadable value cannot be written back")
        return super().get_db_prep_save(value, connection)

    @property
    def _fernet(self) -> KeyRing:
        return keyring()

    @_fernet.setter
    def _fernet(self, value: Any) -> None:  # EncryptedMixin.__init__ assigns it; ignored
        pass


class EncryptedTextField(_KeyRingSource, get_encrypted_field(models.TextField, True)):
    """A text column stored encrypted (opaque: no lookups but `isnull`)."""


class EncryptedJSONField(_KeyRingSource, get_encrypted_field(models.JSONField, True)):
    """A JSON value (dict of personal sub-fields) stored encrypted as one opaque blob."""
