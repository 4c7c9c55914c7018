"""The migrations (squashed before the first deployment: one `0001_initial` per app, the key
check row and the staff roles), on the database the suite runs on (SQLite, or PostgreSQL when
DATABASE_URL points at it):

* they apply on an empty database with `manage.py migrate`, as a deployment runs them;
* they describe the models exactly (`makemigrations` finds nothing to write);
* the search index tables are keyed by (record, hash), with no surrogate `id`, and refuse a
  second row for the same (record, hash);
* every index and constraint the models name exists under that name (the API maps unique
  constraint names to error codes).
"""

import contextlib
import os
from io import StringIO

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.db.migrations.loader import MigrationLoader

from aliases.models import AliasMetadataPair
from holders.models import HolderMetadataPair, HolderNameToken
from staff.roles import ROLES
from tests import servers
from tests.factories import AliasFactory, HolderFactory

PROJECT_APPS = ("crm", "holders", "aliases", "events", "staff")

# (model, the record it indexes, its key columns in key order, a hash value to insert)
INDEX_TABLES = [
    pytest.param(HolderNameToken, "holder", ["holder_id", "token_hash"], 5, id="name-token"),
    pytest.param(
        HolderMetadataPair, "holder", ["holder_id", "pair_hash"], "a" * 64, id="holder-pair"
    ),
    pytest.param(AliasMetadataPair, "alias", ["alias_id", "pair_hash"], "a" * 64, id="alias-pair"),
]


def test_every_migration_applies_on_an_empty_database(tmp_path):
    on_disk = {
        key
        for key in MigrationLoader(None, ignore_no_migrations=True).disk_migrations
        if key[0] in PROJECT_APPS
    }
    with servers.scratch_database(tmp_path, "migrate") as (url, connect):
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "DATABASE_URL": url}
        servers.migrate(env)
        with contextlib.closing(connect()) as db:
            applied = set(db.execute("SELECT app, name FROM django_migrations").fetchall())
            key_checks = db.execute("SELECT count(*) FROM crm_keycheck").fetchone()[0]
            groups = {row[0] for row in db.execute("SELECT name FROM auth_group").fetchall()}
    assert {app for app, _name in on_disk} == set(PROJECT_APPS)
    assert on_disk <= applied
    assert key_checks == 1
    assert groups == set(ROLES)


@pytest.mark.django_db
def test_makemigrations_finds_nothing_to_write():
    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)  # exits 1 on a change
    assert "No changes detected" in out.getvalue()


def key_columns(table: str) -> list[str]:
    """The primary key's columns of `table`, in key order."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid"
                " AND a.attnum = ANY(i.indkey) WHERE i.indrelid = %s::regclass AND i.indisprimary"
                " ORDER BY array_position(i.indkey::int2[], a.attnum)",
                [table],
            )
            return [row[0] for row in cursor.fetchall()]
        cursor.execute(f"PRAGMA table_info({connection.ops.quote_name(table)})")
        rows = cursor.fetchall()  # (cid, name, type, notnull, default, position in the key)
    return [row[1] for row in sorted(rows, key=lambda row: row[5]) if row[5]]


@pytest.mark.django_db
@pytest.mark.parametrize(("model", "record", "key", "value"), INDEX_TABLES)
def test_index_table_is_keyed_by_record_and_hash(model, record, key, value):
    table = model._meta.db_table
    with connection.cursor() as cursor:
        columns = [
            column.name for column in connection.introspection.get_table_description(cursor, table)
        ]
    assert key_columns(table) == key
    assert "id" not in columns
    assert sorted(columns) == sorted([*key, "organization_id"])


@pytest.mark.django_db
@pytest.mark.parametrize(("model", "record", "key", "value"), INDEX_TABLES)
def test_index_table_refuses_a_duplicate_record_and_hash(model, record, key, value):
    owner = HolderFactory() if record == "holder" else AliasFactory()
    other = (value + 1) if isinstance(value, int) else "b" * 64
    row = {key[0]: owner.pk, "organization_id": owner.organization_id, key[1]: value}
    model.objects.create(**row)
    model.objects.create(**{**row, key[1]: other})  # same record, another hash: a new row
    with pytest.raises(IntegrityError), transaction.atomic():
        model.objects.create(**row)
    assert model.objects.filter(**{key[0]: owner.pk, f"{key[1]}__in": [value, other]}).count() == 2


@pytest.mark.django_db
def test_every_named_index_and_constraint_exists():
    declared, missing = set(), []
    with connection.cursor() as cursor:
        for app in PROJECT_APPS:
            for model in apps.get_app_config(app).get_models():
                table = model._meta.db_table
                existing = connection.introspection.get_constraints(cursor, table)
                names = [item.name for item in (*model._meta.indexes, *model._meta.constraints)]
                declared.update(names)
                missing += [f"{table}.{name}" for name in names if name not in existing]
    assert missing == []
    # Among them the unique constraints whose names the API maps to its 409 codes.
    assert {"holder_document_unique_live", "alias_account_unique_live"} <= declared
