"""The services' fixed-shape writes and the reads by primary key are prepared on the
PostgreSQL server and nothing else is (crm.db.postgresql, `prepared_writes`); the array
parameters a run of rows travels as (`crm.db.rows.array_param`) read back as the values they
were made from."""

import datetime as dt
import uuid

import pytest
from django.db import DataError, connection, transaction

from crm.db.postgresql.base import PreparedSQL
from crm.db.rows import _MANY, Row, _statement_sql, array_param, shared_values, write_rows
from holders.models import Holder, HolderMetadataPair, HolderNameToken
from tests.conftest import ORG_A, OrgClient

BODY = {"type": "NATURAL_PERSON", "name": "Joana Preparada Silva", "document": "52998224725"}

AWKWARD = ["plain", 'a "quoted" word', "back\\slash", "a,b", "{braces}", "NULL", "", " sp ", "ção"]


def test_array_text_forms():
    ids = [uuid.UUID(int=1), uuid.UUID(int=2)]
    assert array_param([1, -(2**63), 2**63 - 1]) == "{1,-9223372036854775808,9223372036854775807}"
    assert array_param(ids) == "{" + ",".join(value.hex for value in ids) + "}"
    assert array_param(['say "hi"', "c:\\dir", None]) == '{"say \\"hi\\"","c:\\\\dir",NULL}'
    # Anything else is left to psycopg, as a list.
    assert array_param([b"\x00", b"\x01"]) == [b"\x00", b"\x01"]
    assert array_param([True, False]) == [True, False]


def test_a_write_sends_each_repeated_id_and_time_once_and_nothing_else_shared():
    record, other = uuid.UUID(int=7), uuid.UUID(int=8)
    now = dt.datetime(2026, 12, 7, 20, 0, tzinfo=dt.UTC)
    same_instant = now.astimezone(dt.timezone(dt.timedelta(hours=-3)))
    statement = PreparedSQL("INSERT INTO t VALUES (%s, %s, %s, %s), (%s, %s, %s, %s)")
    text, values = shared_values(
        statement, [record, now, "x", None, record, same_instant, "x", None]
    )
    assert isinstance(text, PreparedSQL)  # still prepared on the server
    assert text == (
        "INSERT INTO t VALUES (%(p0)s, %(p1)s, %(p2)s, %(p3)s), (%(p0)s, %(p1)s, %(p6)s, %(p7)s)"
    )
    assert values == {"p0": record, "p1": now, "p2": "x", "p3": None, "p6": "x", "p7": None}
    _, values = shared_values("SELECT %s, %s", [record, other])
    assert values == {"p0": record, "p1": other}
    with pytest.raises(ValueError):
        shared_values("SELECT %s", [record, other])


@pytest.mark.postgresql
@pytest.mark.django_db
def test_shared_values_read_back_in_every_place_they_stand_for():
    record, now = uuid.uuid4(), dt.datetime(2026, 12, 7, 20, 0, 1, 5, tzinfo=dt.UTC)
    text, values = shared_values(
        "SELECT %s::uuid, %s::timestamptz, %s::uuid, %s::timestamptz, %s::text, %s::text",
        [record, now, record, now, "a", "a"],
    )
    with connection.cursor() as cursor:
        cursor.execute(text, values)
        assert cursor.fetchone() == (record, now, record, now, "a", "a")


@pytest.mark.postgresql  # arrays are PostgreSQL's (SQLite gets rows)
@pytest.mark.django_db
def test_array_params_read_back_as_their_values():
    ids = [uuid.uuid4() for _ in range(3)]
    numbers = [0, 7, -(2**63), 2**63 - 1]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT %s::text[], %s::bigint[], %s::uuid[], %s::text[]",
            [array_param(AWKWARD), array_param(numbers), array_param(ids), array_param([None])],
        )
        assert cursor.fetchone() == (AWKWARD, numbers, ids, [None])


@pytest.mark.postgresql  # a run of rows travels as arrays on PostgreSQL only
@pytest.mark.django_db
def test_a_run_of_rows_refuses_a_value_too_long_for_its_column_as_one_row_would():
    # `pair_hash` is varchar(64). Cast to `varchar(64)[]`, a longer value was cut to 64
    # characters without a word; cast to `varchar[]`, the column's assignment refuses it.
    shape = (("insert", HolderMetadataPair, _MANY, False),)
    (statement,) = _statement_sql("default", shape)
    assert "::varchar[]" in statement and "(64)" not in statement
    holder = uuid.uuid4()
    rows = [
        Row(HolderMetadataPair, {"holder_id": holder, "organization_id": ORG_A, "pair_hash": h})
        for h in ("a" * 64, "b" * 65)
    ]
    with pytest.raises(DataError), transaction.atomic():
        write_rows(rows)
    assert not HolderMetadataPair.objects.filter(holder_id=holder).exists()
    write_rows([*rows[:1], Row(HolderMetadataPair, {**rows[1].values, "pair_hash": "b" * 64})])
    assert sorted(
        HolderMetadataPair.objects.filter(holder_id=holder).values_list("pair_hash", flat=True)
    ) == ["a" * 64, "b" * 64]


def _prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.postgresql  # server-side prepared statements (none on SQLite)
@pytest.mark.django_db(transaction=True)
def test_only_the_writes_and_reads_by_id_are_prepared_and_a_rollback_does_not_break_them():
    # On a connection of its own: an earlier test's writes leave theirs prepared on the
    # connection it shared.
    connection.close()
    api = OrgClient(ORG_A)
    shape = (("insert", Holder, 1, False), ("insert", HolderNameToken, _MANY, False))
    (statement,) = _statement_sql("default", shape)
    assert isinstance(statement, PreparedSQL)
    created = api.post("/v1/holders", BODY)
    assert created.status_code == 201
    assert api.get(f"/v1/holders/{created.json()['id']}").status_code == 200
    assert api.get("/v1/holders?limit=5").status_code == 200
    # The create and the read by id; not the list, whose plan depends on its values.
    prepared = sorted(_prepared_statements())
    assert len(prepared) == 2, prepared
    assert prepared[0].startswith("SELECT") and prepared[0].endswith("LIMIT 1")
    assert prepared[1].startswith("WITH")
    # A rollback makes psycopg drop the connection's prepared statements; the next create
    # prepares its statement again.
    with transaction.atomic():
        Holder.objects.filter(pk=created.json()["id"]).update(external_id="rolled-back")
        transaction.set_rollback(True)
    assert _prepared_statements() == []
    again = api.post("/v1/holders", {**BODY, "document": "11144477735"})
    assert again.status_code == 201
    assert Holder.objects.filter(external_id="rolled-back").count() == 0
    assert [statement[:4] for statement in _prepared_statements()] == ["WITH"]
    assert api.get(f"/v1/holders/{again.json()['id']}").status_code == 200
    assert sorted(statement[:4] for statement in _prepared_statements()) == ["SELE", "WITH"]
