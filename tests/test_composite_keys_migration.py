"""Migrations holders 0011 and aliases 0007 (`crm.db.migration_ops.composite_primary_key`): a
database with name tokens and metadata pairs keyed by a surrogate `id` comes out of
`manage.py migrate` with every row kept and the tables keyed by (record, hash) — on the
database the suite runs on (a scratch SQLite file, or a scratch database on the PostgreSQL
server of DATABASE_URL)."""

import contextlib
import os
import sqlite3
import uuid
from pathlib import Path

import pytest
from django.db import connection

from tests import servers

ORG = "0196a3f4-1c2b-7cde-8f00-00000000c0de"
HOLDER = "0196a3f4-1c2b-7cde-8f00-0000000000a1"
ALIAS = "0196a3f4-1c2b-7cde-8f00-0000000000b1"
TOKENS = [-(2**63), -7, 5, 2**63 - 1]
PAIRS = ["a" * 64, "b" * 64]

ROWS_SQL = [
    (
        "INSERT INTO holders_holder (id, organization_id, created_at, updated_at, type, name,"
        " document, document_hash, metadata) VALUES ({h}, {o}, {now}, {now}, 'NATURAL_PERSON',"
        " {blob}, {blob}, 'hash', '{{}}')"
    ),
    (
        "INSERT INTO aliases_aliasaccount (id, organization_id, created_at, updated_at,"
        " ledger_id, account_id, type, document, document_hash, metadata, holder_id)"
        " VALUES ({a}, {o}, {now}, {now}, 'l', 'acc', 'NATURAL_PERSON', {blob}, 'hash', '{{}}',"
        " {h})"
    ),
    *(
        f"INSERT INTO holders_holdernametoken (holder_id, organization_id, token_hash)"
        f" VALUES ({{h}}, {{o}}, {token})"
        for token in TOKENS
    ),
    *(
        f"INSERT INTO holders_holdermetadatapair (holder_id, organization_id, pair_hash)"
        f" VALUES ({{h}}, {{o}}, '{pair}')"
        for pair in PAIRS
    ),
    *(
        f"INSERT INTO aliases_aliasmetadatapair (alias_id, organization_id, pair_hash)"
        f" VALUES ({{a}}, {{o}}, '{pair}')"
        for pair in PAIRS
    ),
]


@contextlib.contextmanager
def scratch_database(tmp_path: Path):
    """(DATABASE_URL, a DB-API connect function) of an empty database of the suite's vendor."""
    if connection.vendor != "postgresql":
        path = tmp_path / "rekey.sqlite3"
        yield f"sqlite:///{path}", lambda: sqlite3.connect(path)
        return
    import psycopg

    settings = connection.settings_dict
    server = {
        "host": settings["HOST"] or "127.0.0.1",
        "port": settings["PORT"] or 5432,
        "user": settings["USER"],
        "password": settings["PASSWORD"] or None,
    }
    name = f"crm_rekey_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = f"postgres://{server['user']}@{server['host']}:{server['port']}/{name}"
        if server["password"]:
            url = url.replace("@", f":{server['password']}@", 1)
        yield url, lambda: psycopg.connect(dbname=name, **server)
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def migrate(url: str, *target: str) -> None:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "DATABASE_URL": url}
    servers.migrate(env, *target)


def key_columns(db, table: str) -> list[str]:
    """The primary key's columns of `table`, in key order."""
    if connection.vendor == "postgresql":
        rows = db.execute(
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid"
            " AND a.attnum = ANY(i.indkey) WHERE i.indrelid = %s::regclass AND i.indisprimary"
            " ORDER BY array_position(i.indkey::int2[], a.attnum)",
            [table],
        ).fetchall()
        return [row[0] for row in rows]
    rows = db.execute(f"PRAGMA table_info({table})").fetchall()
    return [row[1] for row in sorted(rows, key=lambda row: row[5]) if row[5]]


def columns(db, table: str) -> set[str]:
    cursor = db.execute(f"SELECT * FROM {table} WHERE 1 = 0")
    return {column[0] for column in cursor.description}


def test_rekeying_keeps_every_row_and_keys_the_tables_by_record_and_hash(tmp_path):
    with scratch_database(tmp_path) as (url, connect):
        migrate(url, "holders", "0010")
        migrate(url, "aliases", "0006")
        postgresql = connection.vendor == "postgresql"
        values = {
            "h": f"'{HOLDER}'" if postgresql else f"'{uuid.UUID(HOLDER).hex}'",
            "a": f"'{ALIAS}'" if postgresql else f"'{uuid.UUID(ALIAS).hex}'",
            "o": f"'{ORG}'" if postgresql else f"'{uuid.UUID(ORG).hex}'",
            "now": "now()" if postgresql else "'2026-01-01 00:00:00'",
            "blob": "'\\x00'::bytea" if postgresql else "x'00'",
        }
        with contextlib.closing(connect()) as db:
            assert "id" in columns(db, "holders_holdernametoken")
            for sql in ROWS_SQL:
                db.execute(sql.format(**values))
            db.commit()

        migrate(url)

        with contextlib.closing(connect()) as db:
            for table, key in (
                ("holders_holdernametoken", ["holder_id", "token_hash"]),
                ("holders_holdermetadatapair", ["holder_id", "pair_hash"]),
                ("aliases_aliasmetadatapair", ["alias_id", "pair_hash"]),
            ):
                assert key_columns(db, table) == key, table
                assert "id" not in columns(db, table)
            tokens = db.execute("SELECT token_hash FROM holders_holdernametoken").fetchall()
            assert sorted(row[0] for row in tokens) == TOKENS
            for table in ("holders_holdermetadatapair", "aliases_aliasmetadatapair"):
                pairs = db.execute(f"SELECT pair_hash FROM {table}").fetchall()
                assert sorted(row[0] for row in pairs) == PAIRS
            duplicate = "INSERT INTO holders_holdernametoken (holder_id, organization_id,"
            duplicate += " token_hash) VALUES ({h}, {o}, 5)"
            with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
                db.execute(duplicate.format(**values))
