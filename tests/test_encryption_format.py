"""`crm.crypto.encryption.SealedBox` writes and reads django-cryptography's `FernetBytes` format
byte for byte: values written before this class existed stay readable, and the library can
read what we write (so the format is not ours to break)."""

import os

import pytest
from django_cryptography.core.signing import FernetSigner
from django_cryptography.utils.crypto import FernetBytes

from crm.crypto.encryption import SealedBox

CIPHER_KEY = bytes(range(32))
SIGNER_KEY = bytes(range(32, 64))


@pytest.fixture
def library() -> FernetBytes:
    return FernetBytes(key=CIPHER_KEY, signer=FernetSigner(key=SIGNER_KEY))


@pytest.mark.parametrize("size", [0, 1, 15, 16, 17, 100, 4096])
def test_library_reads_what_the_box_writes(library, size):
    data = os.urandom(size)
    assert library.decrypt(SealedBox(CIPHER_KEY, SIGNER_KEY).encrypt(data)) == data


@pytest.mark.parametrize("size", [0, 1, 15, 16, 17, 100, 4096])
def test_box_reads_what_the_library_writes(library, size):
    data = os.urandom(size)
    assert SealedBox(CIPHER_KEY, SIGNER_KEY).decrypt(library.encrypt(data)) == data


def test_same_layout_as_the_library(library):
    ours = SealedBox(CIPHER_KEY, SIGNER_KEY).encrypt(b"abc")
    theirs = library.encrypt(b"abc")
    assert len(ours) == len(theirs) == 1 + 8 + 16 + 16 + 32
    assert ours[:1] == theirs[:1] == b"\x80"


@pytest.mark.parametrize(
    "mangle",
    [
        lambda token: token[:-1] + bytes([token[-1] ^ 1]),  # signature
        lambda token: token[:30] + bytes([token[30] ^ 1]) + token[31:],  # ciphertext
        lambda token: b"\x81" + token[1:],  # version
        lambda token: token[:20],  # truncated
        lambda token: b"",
    ],
)
def test_tampered_or_foreign_tokens_are_refused(mangle):
    box = SealedBox(CIPHER_KEY, SIGNER_KEY)
    token = box.encrypt(b"personal data")
    assert box.decrypt(mangle(token)) is None
    assert box.verify(mangle(token)) is None


def test_another_key_does_not_open_the_value():
    token = SealedBox(CIPHER_KEY, SIGNER_KEY).encrypt(b"x")
    assert SealedBox(CIPHER_KEY, bytes(32)).decrypt(token) is None
    assert SealedBox(CIPHER_KEY, SIGNER_KEY).verify(token) is not None
