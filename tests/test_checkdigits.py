"""CPF and CNPJ check digits (crm/checkdigits.py): known valid documents pass in any
formatting, one wrong digit fails, the alphanumeric CNPJ of 2026 follows the revenue's rule
(ASCII - 48, weights 2..9 from the right, modulus 11), and anything not shaped like a CPF or
CNPJ is left alone."""

import pytest

from crm.checkdigits import (
    CNPJ,
    CPF,
    cnpj_check_digits,
    cpf_check_digits,
    document_kind,
    is_valid,
    wrong_check_digits,
)

VALID_CPFS = ("529.982.247-25", "52998224725", "123.456.789-09", "390 533 447 05", "000.000.001-91")
VALID_CNPJS = (
    "11.222.333/0001-81",
    "12345678000195",
    "00.000.000/0001-91",  # Banco do Brasil
    "33.000.167/0001-01",  # Petrobras
)
# The federal revenue's own example of an alphanumeric CNPJ, and the same in other spellings.
VALID_ALPHANUMERIC_CNPJS = ("12.ABC.345/01DE-35", "12ABC34501DE35", "12.abc.345/01de-35")


@pytest.mark.parametrize("document", VALID_CPFS)
def test_checkdigits_valid_cpf(document):
    assert document_kind(document) == CPF
    assert is_valid(document)
    assert wrong_check_digits(document) is None


@pytest.mark.parametrize("document", VALID_CNPJS + VALID_ALPHANUMERIC_CNPJS)
def test_checkdigits_valid_cnpj(document):
    assert document_kind(document) == CNPJ
    assert is_valid(document)
    assert wrong_check_digits(document) is None


@pytest.mark.parametrize(
    ("document", "kind"),
    [
        ("529.982.247-24", CPF),  # last digit off by one
        ("529.982.247-52", CPF),  # check digits swapped
        ("529.983.247-25", CPF),  # a body digit mistyped
        ("12345678900", CPF),
        ("111.111.111-11", CPF),  # right arithmetic, but a repeated digit is no CPF
        ("11.222.333/0001-82", CNPJ),
        ("12345678000159", CNPJ),
        ("00.000.000/0000-00", CNPJ),
        ("12.ABC.345/01DE-36", CNPJ),
        ("12.ABD.345/01DE-35", CNPJ),  # a letter mistyped
    ],
)
def test_checkdigits_wrong_digits_name_the_kind(document, kind):
    assert not is_valid(document)
    assert wrong_check_digits(document) == kind


@pytest.mark.parametrize(
    "document",
    ["", "123", "P1234567", "1234567890", "123456789012", "12.ABC.345/01DE-3X", "AB-1234/X"],
)
def test_checkdigits_other_documents_are_not_checked(document):
    assert document_kind(document) is None
    assert wrong_check_digits(document) is None


def test_checkdigits_computed_digits():
    assert cpf_check_digits("529982247") == "25"
    assert cnpj_check_digits("112223330001") == "81"
    # Letters count as their ASCII code minus 48 (A = 17): the revenue's worked example.
    assert cnpj_check_digits("12ABC34501DE") == "35"
