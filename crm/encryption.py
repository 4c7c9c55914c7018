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
`EncryptedJSONField` are ordinary `EncryptedMixin` fields with a different key source.
"""

from binascii import unhexlify
from functools import lru_cache
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.signals import setting_changed
from django.db import models
from django.dispatch import receiver
from django_cryptography.core.signing import BadSignature, FernetSigner
from django_cryptography.fields import get_encrypted_field
from django_cryptography.utils.crypto import FernetBytes, InvalidToken


class DecryptionError(Exception):
    """A stored value could not be decrypted with any configured key."""


def _derive(secret: bytes, label: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label).derive(secret)


def fernet_for(hex_key: str) -> FernetBytes:
    """A FernetBytes whose cipher and signer keys both derive from one hex secret."""
    secret = unhexlify(hex_key)
    cipher_key = _derive(secret, b"crm.encryption.cipher.v1")
    signer_key = _derive(secret, b"crm.encryption.signer.v1")
    return FernetBytes(key=cipher_key, signer=FernetSigner(key=signer_key))


class KeyRing:
    """The current key (encrypts) and the previous keys (decrypt only)."""

    def __init__(self, current: str, previous: list[str]) -> None:
        self.current = fernet_for(current)
        self.previous = [fernet_for(key) for key in previous if key and key != current]

    def encrypt(self, data: bytes) -> bytes:
        return self.current.encrypt(data)

    def decrypt_with_index(self, token: bytes) -> tuple[bytes, int]:
        """Plaintext and the index of the key that opened it (0 = current)."""
        for index, fernet in enumerate([self.current, *self.previous]):
            try:
                return fernet.decrypt(token), index
            except (BadSignature, InvalidToken):
                continue
        raise DecryptionError("no configured key decrypts this value")

    def decrypt(self, token: bytes, ttl: int | None = None) -> bytes:
        return self.decrypt_with_index(token)[0]

    def is_current(self, token: bytes) -> bool:
        """True when the value was written with the current key (rotation skips it)."""
        try:
            self.current.signer.unsign(token)
        except (BadSignature, InvalidToken):
            return False
        return True


@lru_cache(maxsize=1)
def keyring() -> KeyRing:
    return KeyRing(
        settings.LCRYPTO_ENCRYPT_SECRET_KEY, list(settings.LCRYPTO_PREVIOUS_ENCRYPT_SECRET_KEYS)
    )


@receiver(setting_changed)
def _reset_keyring(*, setting: str, **kwargs: Any) -> None:
    if setting.startswith("LCRYPTO_"):
        keyring.cache_clear()


class _KeyRingSource:
    """Replaces the import-time `FernetBytes` of django-cryptography with the live key ring."""

    wasinstance = True  # deconstruct() keeps this class's own import path

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
