"""`crm.db.rows.prep_save`'s shortcut prepares every value exactly as the field's own
`get_db_prep_save` does (same value, same type), for every column of every model, on the
database the suite runs on; `prepared_columns` gives a run of rows' values column by column."""

import datetime as dt
import uuid

import pytest
from django.apps import apps
from django.db import connection

from crm.crypto.encryption import EncryptedJSONField, EncryptedTextField
from crm.db.rows import Row, _prep_shortcut, insert_fields, prep_save, prepared_columns
from crm.models import AuditEntry
from holders.models import Holder, HolderNameToken

SAMPLES = [
    "a word",
    "",
    uuid.UUID("0196a3f4-1c2b-7cde-8f00-0000000be4c4"),
    7,
    -(2**63),
    True,
    dt.datetime(2026, 11, 30, 4, 5, 6, 789, tzinfo=dt.UTC),
    dt.datetime(2026, 11, 30, 4, 5, 6, tzinfo=dt.timezone(dt.timedelta(hours=-3))),
    dt.date(2026, 11, 30),
    None,
]


def _shortcut_columns():
    """Every column the shortcut applies to (the others take the field's own preparation:
    `test_encrypted_and_json_columns_take_the_fields_own_preparation`)."""
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if _prep_shortcut(field, connection) is not None:
                yield pytest.param(field, id=f"{model._meta.label}.{field.name}")


def _prepared(prepare):
    """Each sample's prepared value and type, or the error type it raised."""
    out = []
    for value in SAMPLES:
        try:
            result = prepare(value)
        except Exception as exc:  # the same failure is what is compared
            out.append(("error", type(exc)))
        else:
            out.append((type(result), result))
    return out


@pytest.mark.django_db
# A date given to a datetime column is read as a naive datetime, with Django's warning.
@pytest.mark.filterwarnings("ignore:DateTimeField .* received a naive datetime")
@pytest.mark.parametrize("field", list(_shortcut_columns()))
def test_shortcut_prepares_as_the_field_does(field):
    expected = _prepared(lambda value: field.get_db_prep_save(value, connection))
    assert _prepared(lambda value: prep_save(field, value, connection)) == expected
    # The second call takes the cached shortcut: still the same.
    assert _prepared(lambda value: prep_save(field, value, connection)) == expected


def test_encrypted_and_json_columns_take_the_fields_own_preparation():
    encrypted = [
        field
        for model in apps.get_models()
        for field in model._meta.concrete_fields
        if isinstance(field, EncryptedTextField | EncryptedJSONField)
        or field.get_internal_type() == "JSONField"
    ]
    assert len(encrypted) > 10
    assert all(_prep_shortcut(field, connection) is None for field in encrypted)


def test_prepared_columns_are_a_runs_values_column_by_column_with_defaults_for_the_rest():
    holder, organization = uuid.uuid4(), uuid.uuid4()
    tokens = [
        Row(
            HolderNameToken, {"holder_id": holder, "organization_id": organization, "token_hash": t}
        )
        for t in (3, -(2**63))
    ]
    assert prepared_columns(tokens, connection) == [
        [prep_save(field, row.values[field.attname], connection) for row in tokens]
        for field in insert_fields(HolderNameToken)
    ]
    holders = [Row(Holder, {"organization_id": organization, "type": "LEGAL_PERSON"})] * 2
    columns = dict(
        zip(
            [field.attname for field in insert_fields(Holder)],
            prepared_columns(holders, connection),
            strict=True,
        )
    )
    assert columns["type"] == ["LEGAL_PERSON", "LEGAL_PERSON"]
    assert columns["external_id"] == [None, None]  # left out: the field's default
    first, second = columns["id"]  # a default made per row, as `Model()` makes it
    assert first != second


def test_a_column_with_a_database_default_is_left_to_the_database_and_never_given():
    """An insert leaves out every column with a `db_default` (a record is created live, at
    version 1; an audit entry unsealed): a row that gives one, or a new record that holds
    anything else in one, is refused rather than written without it."""
    written = {field.attname for field in insert_fields(Holder)}
    assert {"deleted_at", "version"}.isdisjoint(written)
    assert {"seq", "body_hash", "chain_hash", "chain_key", "redacted"}.isdisjoint(
        field.attname for field in insert_fields(AuditEntry)
    )
    organization = uuid.UUID("0196a3f4-1c2b-7cde-8f00-0000000be4c5")
    live = Holder(organization_id=organization, type="LEGAL_PERSON", name="n", document="d")
    assert set(Row.of_new(live).values) == written
    deleted = Holder(
        organization_id=organization, type="LEGAL_PERSON", deleted_at=dt.datetime.now(dt.UTC)
    )
    with pytest.raises(ValueError, match="deleted_at is the database's to set"):
        Row.of_new(deleted)
    with pytest.raises(ValueError, match="seq is the database's to set"):
        prepared_columns([Row(AuditEntry, {"action": "create", "seq": 7})], connection)
