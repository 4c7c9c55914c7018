"""Personal data at rest (docs/api.md §7): a raw SELECT shows no plaintext; search hashes are
canonical, organization-scoped and field-scoped; keys are not derived from SECRET_KEY."""

import pytest
from django.db import connection

from crm.crypto.search import canonical, lookup_hashes, search_hash
from holders.models import Holder

SECRETS = {
    "name": "Zuleica Bragança",
    "document": "91315026015",
    "primaryEmail": "zuleica@example.com",
    "secondaryEmail": "zb@example.org",
    "mobilePhone": "+5511987654321",
    "otherPhone": "+551140028922",
    "motherName": "Quitéria Bragança",
    "fatherName": "Epaminondas Bragança",
    "repName": "Wenceslau Pereira",
    "repDocument": "39053344705",
    "repEmail": "wenceslau@example.com",
}


@pytest.fixture
def stored_holder(api):
    response = api.post(
        "/v1/holders",
        {
            "type": "NATURAL_PERSON",
            "name": SECRETS["name"],
            "document": SECRETS["document"],
            "contact": {
                "primaryEmail": SECRETS["primaryEmail"],
                "secondaryEmail": SECRETS["secondaryEmail"],
                "mobilePhone": SECRETS["mobilePhone"],
                "otherPhone": SECRETS["otherPhone"],
            },
            "naturalPerson": {
                "motherName": SECRETS["motherName"],
                "fatherName": SECRETS["fatherName"],
                "gender": "Female",
            },
            "legalPerson": {
                "tradeName": "Plain Trade Name",
                "representative": {
                    "name": SECRETS["repName"],
                    "document": SECRETS["repDocument"],
                    "email": SECRETS["repEmail"],
                    "role": "Director",
                },
            },
        },
    )
    assert response.status_code == 201
    return response.json()


def _raw_name(holder_id: str) -> bytes:
    """The holder's `name` column as stored: its ciphertext."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT name FROM {Holder._meta.db_table} WHERE id = %s",
            [Holder._meta.pk.get_db_prep_value(holder_id, connection)],
        )
        (value,) = cursor.fetchone()
    return bytes(value)


def _raw_row(holder_id: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT * FROM {Holder._meta.db_table} WHERE id = %s",
            [Holder._meta.pk.get_db_prep_value(holder_id, connection)],
        )
        row = cursor.fetchone()
    assert row is not None
    parts = []
    for value in row:
        if isinstance(value, bytes | memoryview):
            parts.append(bytes(value).decode("latin-1"))
        else:
            parts.append(str(value))
    return "\n".join(parts)


def test_raw_select_shows_no_personal_data_in_plaintext(stored_holder):
    raw = _raw_row(stored_holder["id"])

    for label, secret in SECRETS.items():
        assert secret not in raw, label
        assert secret.encode().hex() not in raw, label
    assert "Plain Trade Name" in raw  # plaintext fields stay readable (docs/api.md §7.1)
    assert "Female" in raw


def test_api_returns_the_decrypted_values(api, stored_holder):
    body = api.get(f"/v1/holders/{stored_holder['id']}").json()

    assert body["name"] == SECRETS["name"]
    assert body["contact"]["mobilePhone"] == SECRETS["mobilePhone"]
    assert body["naturalPerson"]["motherName"] == SECRETS["motherName"]
    assert body["legalPerson"]["representative"]["document"] == SECRETS["repDocument"]


def test_the_same_value_encrypts_differently_each_time(api):
    first = api.post("/v1/holders", {"type": "NATURAL_PERSON", "name": "Same", "document": "1"})
    second = api.post("/v1/holders", {"type": "NATURAL_PERSON", "name": "Same", "document": "2"})

    # The `name` column as stored (by name: its position depends on the table's layout).
    first_name, second_name = (_raw_name(body.json()["id"]) for body in (first, second))
    assert first_name != second_name
    assert b"Same" not in first_name


def test_changing_secret_key_leaves_stored_data_readable(stored_holder, settings):
    settings.SECRET_KEY = "a-completely-different-secret-key-" + "z" * 30

    assert Holder.objects.get(id=stored_holder["id"]).name == SECRETS["name"]


def test_canonical_form_strips_punctuation_and_upper_cases():
    assert canonical(" 123.456.789-00 ") == "12345678900"
    assert canonical("12.abc.345/01de-35") == "12ABC34501DE35"


def test_search_hash_is_scoped_by_organization_and_field(org_a, org_b):
    same = search_hash(org_a, "holder.document", "12345678900")

    assert same == search_hash(org_a, "holder.document", "123.456.789-00")
    assert same != search_hash(org_b, "holder.document", "12345678900")
    assert same != search_hash(org_a, "alias.document", "12345678900")
    assert len(same) == 64 and int(same, 16) >= 0


def test_search_hash_uses_the_hash_key(org_a, settings):
    before = search_hash(org_a, "holder.document", "1")
    settings.LCRYPTO_HASH_SECRET_KEY = "another-hash-key-" + "k" * 32

    assert search_hash(org_a, "holder.document", "1") != before


def test_lookup_hashes_include_previous_hash_keys(org_a, settings):
    old = search_hash(org_a, "holder.document", "1")
    settings.LCRYPTO_PREVIOUS_HASH_SECRET_KEYS = [settings.LCRYPTO_HASH_SECRET_KEY]
    settings.LCRYPTO_HASH_SECRET_KEY = "another-hash-key-" + "k" * 32

    assert lookup_hashes(org_a, "holder.document", "1")[1] == old


def test_document_lookup_is_a_bound_parameter_not_sql_hashing(api, stored_holder):
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        api.get("/v1/holders?document=913.150.260-15")

    list_query = next(q["sql"] for q in queries.captured_queries if "document_hash" in q["sql"])
    assert "HMAC" not in list_query.upper() and "SHA" not in list_query.upper()
