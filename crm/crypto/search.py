"""Search hashes (blind indexes): HMAC-SHA256 over organization + field + canonical value.

`canonical("123.456.789-00") == canonical("12345678900")`; the organization id and the field
name are part of the message, so the same document in two organizations or two fields gives
unrelated hashes. The key is `LCRYPTO_HASH_SECRET_KEY`; during a hash-key rotation lookups also
try `LCRYPTO_PREVIOUS_HASH_SECRET_KEYS` until `rotate_encryption_keys --hashes` has recomputed
every stored hash. Hashes are computed here, in Python, and compared as bound parameters so the
database uses the index.

E-mail addresses and phone numbers have canonical forms of their own, passed as `form`:
`canonical_email` (trimmed and casefolded, dots kept) and `canonical_phone` (E.164 as the
`phonenumbers` library reads the number, a national spelling in `PHONE_DEFAULT_REGION`), so
every spelling of a number hashes alike. A search term may mean more than one number
(`phone_readings`); each reading is looked up.
"""

import hashlib
import hmac
import re
import uuid
from collections.abc import Callable
from functools import lru_cache

import phonenumbers
from django.conf import settings
from django.db.models import Value
from django.db.models.expressions import Combinable
from django.db.models.functions import Replace, Upper

_NOT_CANONICAL = re.compile(r"[\s./\-]+")
HASH_LENGTH = 64


def canonical(value: str) -> str:
    """Whitespace and `.` `-` `/` removed, letters upper-cased."""
    return _NOT_CANONICAL.sub("", value).upper()


def canonical_sql(expression: Combinable | str) -> Combinable:
    """`canonical` in SQL, for a plaintext column compared with a canonical term (a bank
    branch): space, tab, line breaks, `.`, `-` and `/` removed, upper-cased (SQLite
    upper-cases ASCII letters only). For the few rows an index read found, never a search of
    a whole table."""
    result = Upper(expression)
    for char in " \t\n\r.-/":
        result = Replace(result, Value(char), Value(""))
    return result


def canonical_email(value: str) -> str:
    """An e-mail address as compared: surrounding space removed, casefolded."""
    return value.strip().casefold()


def phone_digits(value: str) -> str:
    """The digits of a value (`+55 (11) 99999-0000` -> `5511999990000`): the form a phone
    number falls back to when `phonenumbers` cannot read it, and the form phone hashes had
    before E.164 (`phone_readings`)."""
    return "".join(char for char in value if char.isdigit())


def _e164(value: str, region: str | None) -> str | None:
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def canonical_phone(value: str) -> str:
    """A phone number as stored and compared: E.164, a national spelling read in
    `PHONE_DEFAULT_REGION` ("(91) 90112-3900", "91901123900", "+55 (91) 90112-3900" ->
    "+5591901123900" with `BR`); a value `phonenumbers` cannot read keeps its digits only.
    Numbers that are not valid in their country are still written in E.164 as read, so every
    spelling of them agrees too."""
    return _e164(value, settings.PHONE_DEFAULT_REGION) or phone_digits(value)


def phone_readings(term: str) -> list[str]:
    """Every canonical phone number a search term may mean (distinct, `canonical_phone`'s
    first): the number read in the default region; without a leading `+`, also its digits
    read as an international number ("16502530000" may be `+1 650 253 0000`); and the
    term's digits only, the form of a hash written before phone numbers were E.164 (until
    `rotate_encryption_keys --hashes` rewrites it, docs/api.md §7.2)."""
    readings = [canonical_phone(term)]
    digits = phone_digits(term)
    if digits and not term.lstrip().startswith("+"):
        readings.append(_e164(f"+{digits}", None) or digits)
    readings.append(digits)
    return [reading for reading in dict.fromkeys(readings) if reading]


def exact(value: str) -> str:
    """A value compared exactly as given (already canonical, e.g. an idempotency fingerprint's
    canonical JSON: `crm.api.idempotency`)."""
    return value


Form = Callable[[str], str]


@lru_cache(maxsize=8)
def _keyed(key: str) -> "hmac.HMAC":
    """An HMAC keyed once per key and copied per value (keying costs as much as hashing)."""
    return hmac.new(key.encode(), digestmod=hashlib.sha256)


@lru_cache(maxsize=4096)
def _organization_text(organization_id: uuid.UUID | str) -> str:
    """An organization id as every hash spells it (a create hashes ~10 values of one)."""
    return str(organization_id).lower()


def _hash(key: str, organization_id: uuid.UUID | str, field: str, value: str, form: Form) -> str:
    mac = _keyed(key).copy()
    mac.update(f"{_organization_text(organization_id)}|{field}|{form(value)}".encode())
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
