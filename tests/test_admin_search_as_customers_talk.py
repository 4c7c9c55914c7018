"""The back-office search the way customers talk (issue 28, deliverable 1): a phone number in
any national or international spelling (E.164 search hashes, `PHONE_DEFAULT_REGION`), every
e-mail and phone field of a holder, a bank account alone or after its branch in any
punctuation, from the holder list and the alias list; and rows hashed before all this, found
once `rotate_encryption_keys --hashes` has re-hashed them. Runs on the suite's database (CI:
SQLite and PostgreSQL)."""

from io import StringIO

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.test import override_settings

from aliases.account_search import branch_account_readings
from crm.access.settings_checks import check_required_secrets
from crm.crypto.search import canonical_phone, exact, phone_digits, phone_readings, search_hash
from holders.models import PHONE_FIELD, Holder
from tests.conftest import ORG_A
from tests.factories import AliasFactory, HolderFactory
from tests.test_admin import ALIAS_CHANGELIST, CHANGELIST, listed_alias_ids, listed_ids
from tests.test_settings_checks import GOOD

SPELLINGS = ["(91) 90112-3900", "91901123900", "+55 91 90112-3900", "+55 (91) 90112-3900"]


def found(client, term: str) -> set[str]:
    return listed_ids(client.get(CHANGELIST, {"q": term}))


def found_aliases(client, term: str) -> set[str]:
    return listed_alias_ids(client.get(ALIAS_CHANGELIST, {"q": term}))


# --- phone numbers ---------------------------------------------------------------------------


def test_every_spelling_of_a_number_is_one_e164_number():
    assert {canonical_phone(spelling) for spelling in SPELLINGS} == {"+5591901123900"}
    assert canonical_phone("48 3025-1234") == canonical_phone("+55 48 3025-1234") == "+554830251234"


@pytest.mark.parametrize("term", SPELLINGS)
def test_a_phone_is_found_by_every_spelling_whichever_it_was_stored_as(admin_client, term):
    stored = {str(HolderFactory(contact={"mobilePhone": spelling}).pk) for spelling in SPELLINGS}
    HolderFactory(contact={"mobilePhone": "(91) 90112-3901"})  # one digit off
    assert found(admin_client, term) == stored


@pytest.mark.parametrize(
    ("stored", "term"),
    [("48 3025-1234", "+55 48 3025-1234"), ("+55 48 3025-1234", "(48) 3025-1234")],
)
def test_an_international_spelling_finds_a_national_one_and_back(admin_client, stored, term):
    holder = HolderFactory(contact={"mobilePhone": stored})
    HolderFactory(contact={"mobilePhone": "47 3025-1234"})
    assert found(admin_client, term) == {str(holder.pk)}


@pytest.mark.parametrize("field", ["mobilePhone", "otherPhone"])
def test_every_phone_field_is_searchable(admin_client, field):
    holder = HolderFactory(contact={field: "+55 (91) 90112-3900"})
    assert found(admin_client, "(91) 90112-3900") == {str(holder.pk)}


def test_a_foreign_number_is_found_with_or_without_its_plus(admin_client):
    holder = HolderFactory(contact={"otherPhone": "+1 650-253-0000"})
    assert canonical_phone("+1 650-253-0000") == "+16502530000"
    for term in ("+1 (650) 253 0000", "16502530000"):
        assert found(admin_client, term) == {str(holder.pk)}, term


def test_a_value_phonenumbers_cannot_read_keeps_its_digits(admin_client):
    too_long = "1234 5678 9012 3456 7890"  # 20 digits: no country has such numbers
    assert canonical_phone(too_long) == "12345678901234567890"
    holder = HolderFactory(contact={"mobilePhone": too_long})
    assert found(admin_client, "12345678901234567890") == {str(holder.pk)}
    assert found(admin_client, "1234-5678-9012-3456-7890") == {str(holder.pk)}


def test_the_default_region_is_a_setting(admin_client):
    with override_settings(PHONE_DEFAULT_REGION="PT"):
        assert canonical_phone("912 345 678") == "+351912345678"
        holder = HolderFactory(contact={"mobilePhone": "912 345 678"})
        assert found(admin_client, "+351 912 345 678") == {str(holder.pk)}
    assert canonical_phone("912 345 678") == "+55912345678"  # BR by default


@pytest.mark.parametrize("region", ["XX", "Brazil", ""])
def test_an_unknown_default_region_stops_the_start_up(region):
    with pytest.raises(ImproperlyConfigured, match="PHONE_DEFAULT_REGION"):
        check_required_secrets({**GOOD, "PHONE_DEFAULT_REGION": region})
    assert check_required_secrets({**GOOD, "PHONE_DEFAULT_REGION": "PT"}) is None


def test_search_readings_of_a_term():
    assert phone_readings("+55 (91) 90112-3900") == ["+5591901123900", "5591901123900"]
    # Without "+": the national reading, the international one, and the bare digits (the
    # form of hashes written before E.164).
    assert phone_readings("91901123900") == ["+5591901123900", "+91901123900", "91901123900"]
    assert phone_digits("+55 (91) 90112-3900") == "5591901123900"


# --- e-mail addresses ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        {"contact": {"primaryEmail": "Ana.Lima@Example.com"}},
        {"contact": {"secondaryEmail": "Ana.Lima@Example.com"}},
        {
            "type": "LEGAL_PERSON",
            "legalPerson": {"representative": {"name": "Ana", "email": "Ana.Lima@Example.com"}},
        },
    ],
    ids=["primary", "secondary", "representative"],
)
def test_every_email_field_is_searchable(admin_client, payload):
    holder = HolderFactory(**payload)
    HolderFactory(contact={"primaryEmail": "ana.lima@example.org"})
    assert found(admin_client, " ANA.LIMA@example.COM ") == {str(holder.pk)}


def test_contact_hashes_follow_every_field_and_are_cleared_with_it(db):
    from holders.services import holder_update

    holder = HolderFactory(
        type="LEGAL_PERSON",
        contact={
            "primaryEmail": "a@example.com",
            "secondaryEmail": "b@example.com",
            "mobilePhone": "91 90112-3900",
            "otherPhone": "48 3025-1234",
        },
        legalPerson={"representative": {"name": "Ana", "email": "c@example.com"}},
    )
    columns = (
        "email_hash",
        "secondary_email_hash",
        "representative_email_hash",
        "phone_hash",
        "other_phone_hash",
    )
    stored = Holder.objects.values_list(*columns).get(pk=holder.pk)
    assert all(stored) and len(set(stored)) == len(columns)
    holder_update(
        organization_id=ORG_A,
        holder_id=holder.pk,
        patch={"contact": None, "legalPerson": {"representative": None}},
    )
    assert Holder.objects.values_list(*columns).get(pk=holder.pk) == (None,) * len(columns)


# --- bank accounts ---------------------------------------------------------------------------


ACCOUNT_TERMS = [
    "4398187-0",
    "43981870",
    "0001 4398187-0",
    "0001/43981870",
    "0001-4398187-0",
    "0001.4398187.0",
    " 0001 / 4398187 - 0 ",
]


@pytest.fixture
def accounts(db):
    """The account asked for (branch 0001), the same number at another branch, another
    number at the same branch; each under its own holder."""
    return {
        name: AliasFactory(bankingDetails={"branch": branch, "account": account})
        for name, branch, account in (
            ("wanted", "0001", "4398187-0"),
            ("other branch", "0002", "4398187-0"),
            ("other account", "0001", "4398188-0"),
        )
    }


@pytest.mark.parametrize("term", ACCOUNT_TERMS)
def test_a_bank_account_is_found_from_the_alias_list_and_the_holder_list(
    admin_client, accounts, term
):
    wanted = [accounts["wanted"]]
    if "0001" not in term:  # the number alone: at every branch
        wanted.append(accounts["other branch"])
    assert found_aliases(admin_client, term) == {str(alias.pk) for alias in wanted}
    assert found(admin_client, term) == {str(alias.holder_id) for alias in wanted}


def test_a_branch_with_a_check_digit_in_any_punctuation(admin_client, db):
    alias = AliasFactory(bankingDetails={"branch": "1234-5", "account": "98765-X"})
    AliasFactory(bankingDetails={"branch": "1234", "account": "98765-X"})
    for term in ("1234-5 98765-X", "12345 98765x", "1234.5/98765.x"):
        assert found_aliases(admin_client, term) == {str(alias.pk)}, term
        assert found(admin_client, term) == {str(alias.holder_id)}, term


def test_a_deleted_alias_is_found_among_deleted_records(admin_client, accounts):
    from aliases.services import alias_soft_delete

    alias = accounts["wanted"]
    alias_soft_delete(organization_id=ORG_A, holder_id=alias.holder_id, alias_id=alias.pk)
    assert found_aliases(admin_client, "0001 4398187-0") == set()
    shown = listed_alias_ids(
        admin_client.get(ALIAS_CHANGELIST, {"q": "0001 4398187-0", "state": "all"})
    )
    assert shown == {str(alias.pk)}


def test_branch_and_account_readings():
    assert branch_account_readings("0001 4398187-0") == [
        ("0001", "43981870"),
        ("00014398187", "0"),
    ]
    assert branch_account_readings("4398187-0") == [("4398187", "0")]
    assert branch_account_readings("43981870") == []  # one group: the number alone
    assert branch_account_readings("Maria da Silva") == []  # no digits
    assert branch_account_readings("+55 (91) 90112-3900") == []  # not groups of letters/digits
    assert branch_account_readings("1 2 3 4 5 6 7") == []  # more groups than a bank account


def test_the_api_account_filter_keeps_its_contract(api, accounts):
    """docs/api.md §3: `banking_details_account` matches the account number (any formatting)
    through its search hash; a branch goes in `banking_details_branch`."""

    def listed(params):
        response = api.get("/v1/aliases", params)
        assert response.status_code == 200, response.json()
        return {item["id"] for item in response.json()["items"]}

    wanted, other = accounts["wanted"], accounts["other branch"]
    assert listed({"banking_details_account": "43981870"}) == {str(wanted.pk), str(other.pk)}
    assert listed({"banking_details_account": "4398187-0", "banking_details_branch": "0001"}) == {
        str(wanted.pk)
    }


# --- rows hashed before: re-hashed by the rotation command -----------------------------------


def test_rows_hashed_the_old_way_are_found_after_rotate_hashes(admin_client):
    holder = HolderFactory(
        contact={
            "mobilePhone": "+55 91 90112-3900",
            "otherPhone": "(48) 3025-1234",
            "secondaryEmail": "ana@example.com",
        }
    )
    # As the row was before: the mobile phone hashed as its digits only, no hash for the
    # secondary e-mail or the other phone.
    Holder.objects.filter(pk=holder.pk).update(
        phone_hash=search_hash(ORG_A, PHONE_FIELD, "5591901123900", form=exact),
        other_phone_hash=None,
        secondary_email_hash=None,
    )
    pk = str(holder.pk)
    assert found(admin_client, "+55 91 90112-3900") == {pk}  # the digits it was stored with
    assert found(admin_client, "(91) 90112-3900") == set()
    assert found(admin_client, "ana@example.com") == set()

    def rotate(*flags: str) -> str:
        out = StringIO()
        call_command("rotate_encryption_keys", "--hashes", *flags, stdout=out, stderr=StringIO())
        return out.getvalue()

    assert "Dry run: 1 row(s) not yet under the current keys" in rotate("--dry-run")
    assert (
        "holders.Holder hashes: 1 rows checked, 1 rotated "
        "(columns: other_phone_hash, phone_hash, secondary_email_hash), 0 failed"
    ) in rotate()
    for term in [*SPELLINGS, "+55 48 3025-1234", "ana@example.com"]:
        assert found(admin_client, term) == {pk}, term
    assert "Dry run: 0 row(s) not yet under the current keys" in rotate("--dry-run")
