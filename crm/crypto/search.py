"""Search hashes (blind indexes): HMAC-SHA256 over organization + field + canonical value.

`canonical("123.456.789-00") == canonical("12345678900")`; the organization id and the field
name are part of the message, so the same document in two organizations or two fields gives
unrelated hashes. The key is `LCRYPTO_HASH_SECRET_KEY`; during a hash-key rotation lookups also
try `LCRYPTO_PREVIOUS_HASH_SECRET_KEYS` until `rotate_encryption_keys --hashes` has recomputed
every stored hash. Hashes are computed here, in Python, and compared as bound parameters so the
database uses the index.

E-mail addresses and phone numbers have canonical forms of their own (`canonical_email`:
trimmed and casefolded, dots kept; `canonical_phone`: digits only), passed as `form`.
"""

import hashlib
import hmac
import re
import uuid
from collections.abc import Callable
from functools import lru_cache

from django.conf import settings

_NOT_CANONICAL = re.compile(r"[\s./\-]+")
HASH_LENGTH = 64


def canonical(value: str) -> str:
    """Whitespace and `.` `-` `/` removed, letters upper-cased."""
    return _NOT_CANONICAL.sub("", value).upper()


def canonical_email(value: str) -> str:
    """An e-mail address as compared: surrounding space removed, casefolded."""
    return value.strip().casefold()


def canonical_phone(value: str) -> str:
    """A phone number as compared: its digits only (`+55 (11) 99999-0000` -> `5511999990000`)."""
    return "".join(char for char in value if char.isdigit())


def exact(value: str) -> str:
    """A value compared exactly as given (already canonical, e.g. an idempotency fingerprint's
    canonical JSON: `crm.api.idempotency`)."""
    return value


Form = Callable[[str], str]


@lru_cache(maxsize=8)
def _keyed(key: str) -> "hmac.HMAC":
    """An HMAC keyed once per key and copied per value (keying costs as much as hashing)."""
    return hmac.new(key.encode(), digestmod=hashlib.sha256)


def _hash(key: str, organization_id: uuid.UUID | str, field: str, value: str, form: Form) -> str:
    mac = _keyed(key).copy()
    mac.update(f"{str(organization_id).lower()}|{field}|{form(value)}".encode())
    return mac.hexdigest()


def search_hash(
    organization_id: uuid.UUID | str, field: str, value: str, *, form: Form = canonical
) -> str:
    """The hash stored for a value (current key)."""
    return _hash(settings.LCRYPTO_HASH_SECRET_KEY, organization_id, field, value, form)


def lookup_hashes(
    organization_id: uuid.UUID | str, field: str, value: str, *, form: Form = canonical
) -> list[str]:
    """Every hash a stored value may carry: current key first, then previous keys."""
    keys = [settings.LCRYPTO_HASH_SECRET_KEY, *settings.LCRYPTO_PREVIOUS_HASH_SECRET_KEYS]
    return list(
        dict.fromkeys(_hash(key, organization_id, field, value, form) for key in keys if key)
    )
