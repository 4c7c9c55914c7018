"""Check digits of Brazilian tax documents: CPF, and CNPJ numeric or alphanumeric.

The registry does not *verify* documents (docs/api.md §0: a holder's document may be a CPF, a
CNPJ or any other): the API stores what it is given. The back-office uses this module to
*warn* a clerk who typed a CPF or CNPJ whose check digits do not match (docs/admin.md), and
lets them save it anyway.

* **CPF**: 11 digits; two check digits by modulus 11 (weights 10..2, then 11..2).
* **CNPJ**: 12 characters then 2 check digits. Since 2026 the first 12 may be letters too
  (the federal revenue's alphanumeric CNPJ, Nota Técnica COCAD/SUARA/RFB nº 49/2024): each
  character counts as its ASCII code minus 48 (`0`-`9` as 0-9, `A` as 17 … `Z` as 42), so a
  numeric CNPJ keeps its digits. Weights 2..9 from the right, cycling; a remainder below 2
  gives 0, otherwise 11 - remainder.

Punctuation and spaces are ignored and letters upper-cased (`crm.crypto.search.canonical`):
`123.456.789-09`, `12345678909` and `12.ABC.345/01DE-35` are read as staff type them.
"""

import re

from crm.crypto.search import canonical

CPF = "CPF"
CNPJ = "CNPJ"

_CPF_SHAPE = re.compile(r"\d{11}")
_CNPJ_SHAPE = re.compile(r"[0-9A-Z]{12}\d{2}")


def _check_digit(body: str, weights: list[int]) -> str:
    total = sum((ord(char) - 48) * weight for char, weight in zip(body, weights, strict=True))
    remainder = total % 11
    return "0" if remainder < 2 else str(11 - remainder)


def _cycling_from_right(length: int) -> list[int]:
    """CNPJ weights: 2, 3, …, 9, 2, 3, … from the rightmost character leftwards."""
    return [2 + (position % 8) for position in range(length)][::-1]


def cpf_check_digits(body: str) -> str:
    """The two check digits of a CPF's first 9 digits."""
    first = _check_digit(body, list(range(10, 1, -1)))
    return first + _check_digit(body + first, list(range(11, 1, -1)))


def cnpj_check_digits(body: str) -> str:
    """The two check digits of a CNPJ's first 12 characters (digits or upper-case letters)."""
    first = _check_digit(body, _cycling_from_right(12))
    return first + _check_digit(body + first, _cycling_from_right(13))


def document_kind(value: str) -> str | None:
    """`CPF` or `CNPJ` for a value shaped like one (11 digits; 12 letters or digits and 2
    digits), else None (another kind of document: nothing to check)."""
    text = canonical(value)
    if _CPF_SHAPE.fullmatch(text):
        return CPF
    if _CNPJ_SHAPE.fullmatch(text):
        return CNPJ
    return None


def is_valid(value: str) -> bool:
    """Whether a CPF- or CNPJ-shaped value has matching check digits. A run of one repeated
    character (`111.111.111-11`, `00.000.000/0000-00`) passes the arithmetic but is no
    document the revenue issues, so it is not valid either."""
    text = canonical(value)
    kind = document_kind(text)
    if kind is None or len(set(text)) == 1:
        return False
    body, digits = text[:-2], text[-2:]
    expected = cpf_check_digits(body) if kind == CPF else cnpj_check_digits(body)
    return digits == expected


def wrong_check_digits(value: str) -> str | None:
    """`CPF` or `CNPJ` when `value` is shaped like one but its check digits are wrong; None
    when they are right, or when the value is no CPF or CNPJ (the registry takes any
    document)."""
    kind = document_kind(value)
    if kind is None or is_valid(value):
        return None
    return kind
