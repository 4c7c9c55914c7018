"""Floors: what an endpoint's throughput is compared with, in the same gunicorn.

* `bare_json` — a Django view returning a constant JSON object: the cost of the stack alone.
* `raw_select` — the thinnest view doing GET holder's database work: one raw `SELECT` by
  organization and primary key, columns returned as they are stored (nothing decrypted),
  prepared on the server as the API's reads by id are.
* `raw_insert` — the thinnest view doing create holder's database work: one raw `INSERT` of a
  row of the same shape, nothing validated, into an organization of its own
  (`FLOOR_ORGANIZATION`), so the measured lists never meet its rows. Where the ciphertext
  goes it writes one value encrypted once per process (`_sealed`): the rows cost no
  encryption, and a page that lists every organization's holders (the admin's) can still
  read them. Its statement is prepared on the server, as the services' `INSERT`s are.
* `raw_update` — PATCH holder's database work: one raw `UPDATE` by organization and primary
  key of the columns the measured PATCH writes (`metadata` merged with one key, `updated_at`),
  nothing read first, no audit, version or outbox row, prepared as the PATCH's write is. The
  holder's `version` is left as it is, so its versions stay numbered 1, 2, … as the API
  wrote them.
* `raw_alias_insert` — create alias's: one raw `INSERT` of an alias row (the columns the API
  writes for a body of `ledgerId` and `accountId`) under a holder of the floor's organization
  (`FLOOR_HOLDER`, inserted once per process), prepared like `raw_insert`.
* `raw_page` — a list page's: one raw `SELECT` of a page of the organization's live holders in
  id order (`limit`, default 10; `offset`, or `after` an id as a cursor does), the columns a
  body shows (not the search hashes), each encrypted column decrypted by the field's own
  `from_db_value` — the decryption a list must do is part of the floor — and the values
  returned as JSON.
* `raw_aliases` — aliases by holder / by account: the same for the organization's live aliases
  of one `holder_id` or one `account_id` (one query; the endpoint's second query, the page's
  related parties, is left out: a join could do without it).
"""

import os
import uuid
from functools import cache

from django.db import connection
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

from aliases.models import AliasAccount
from crm.crypto.encryption import EncryptedJSONField, EncryptedTextField
from crm.db.postgresql.base import PreparedSQL
from crm.ids import uuid7
from holders.models import Holder

FLOOR_ORGANIZATION = uuid.UUID("0196a3f4-1c2b-7cde-8f00-00000000f100")
FLOOR_HOLDER = uuid.UUID("0196a3f4-1c2b-7cde-8f00-00000000f101")  # the floor aliases' holder


def bare_json(request):
    return JsonResponse({"ok": True})


# Prepared on the server, as the services' reads by id and their writes are
# (crm.db.postgresql, prepared_writes): the floor does its database work no less efficiently
# than the endpoint.
SELECT_SQL = PreparedSQL(
    "SELECT id, type, external_id, created_at FROM holders_holder "
    "WHERE organization_id = %s AND id = %s AND deleted_at IS NULL"
)
UPDATE_SQL = PreparedSQL(
    "UPDATE holders_holder SET updated_at = now(), "
    "metadata = metadata || jsonb_build_object('touched', %s::text) "
    "WHERE organization_id = %s AND id = %s AND deleted_at IS NULL"
)


def raw_select(request, holder_id: uuid.UUID):
    organization = request.headers.get("X-Organization-Id")
    with connection.cursor() as cursor:
        cursor.execute(SELECT_SQL, [organization, holder_id])
        row = cursor.fetchone()
    if row is None:
        return JsonResponse({"code": "not found"}, status=404)
    return JsonResponse({"id": str(row[0]), "type": row[1], "externalId": row[2]})


# Prepared on the server as the services' own INSERTs are (crm.db.postgresql, prepared_writes),
# so that the floor does its database work no less efficiently than the endpoint.
INSERT_SQL = PreparedSQL(
    "INSERT INTO holders_holder (id, organization_id, created_at, updated_at, type, "
    "name, document, document_hash, metadata) "
    "VALUES (%s, %s, now(), now(), 'NATURAL_PERSON', %s, %s, %s, '{}')"
)


@cache
def _sealed(field_name: str, text: str, model=Holder):
    """`text` as the encrypted column `field_name` of `model` stores it (the field's own
    preparation, current key)."""
    return model._meta.get_field(field_name).get_db_prep_save(text, connection)


def _insert_holder(statement: str, holder_id: uuid.UUID, document_hash: str) -> None:
    """A holder row of the floor's organization, by `statement` (`INSERT_SQL` or a variant)."""
    with connection.cursor() as cursor:
        cursor.execute(
            statement,
            [
                holder_id,
                FLOOR_ORGANIZATION,
                _sealed("name", "Floor Holder"),
                _sealed("document", "00000000000"),
                document_hash,
            ],
        )


@csrf_exempt
def raw_insert(request):
    request.headers.get("X-Organization-Id")  # read, as the API reads it
    holder_id = uuid7()
    _insert_holder(INSERT_SQL, holder_id, os.urandom(32).hex())
    return JsonResponse({"id": str(holder_id)}, status=201)


@csrf_exempt
def raw_update(request, holder_id: uuid.UUID):
    organization = request.headers.get("X-Organization-Id")
    with connection.cursor() as cursor:
        cursor.execute(UPDATE_SQL, [request.body.decode() or "1", organization, holder_id])
        found = cursor.rowcount
    if not found:
        return JsonResponse({"code": "not found"}, status=404)
    return JsonResponse({"id": str(holder_id)})


ALIAS_INSERT_SQL = PreparedSQL(
    "INSERT INTO aliases_aliasaccount (id, organization_id, created_at, updated_at, version, "
    "holder_id, ledger_id, account_id, type, document, document_hash, metadata) "
    "VALUES (%s, %s, now(), now(), 1, %s, 'l', %s, 'NATURAL_PERSON', %s, %s, '{}')"
)


@cache
def _floor_holder(alias: str) -> uuid.UUID:
    """`FLOOR_HOLDER`, inserted on the connection `alias` if no process did it before."""
    # Once per process: not prepared.
    _insert_holder(f"{INSERT_SQL} ON CONFLICT (id) DO NOTHING", FLOOR_HOLDER, "f" * 64)
    return FLOOR_HOLDER


@csrf_exempt
def raw_alias_insert(request):
    request.headers.get("X-Organization-Id")  # read, as the API reads it
    alias_id = uuid7()
    with connection.cursor() as cursor:
        cursor.execute(
            ALIAS_INSERT_SQL,
            [
                alias_id,
                FLOOR_ORGANIZATION,
                _floor_holder(connection.alias),
                alias_id.hex,
                _sealed("document", "00000000000", AliasAccount),
                os.urandom(32).hex(),
            ],
        )
    return JsonResponse({"id": str(alias_id)}, status=201)


def _decrypted_page(model, where: str, params: list, limit: int, offset: int = 0):
    """Up to `limit` live rows of `model` matching `where`, in id order after `offset`, each a
    dict of the columns a body shows (not the search hashes, not the organization), the
    encrypted ones decrypted (the fields' own `from_db_value`)."""
    fields = [
        field
        for field in model._meta.concrete_fields
        if not field.column.endswith("_hash") and field.column != "organization_id"
    ]
    columns = ", ".join(field.column for field in fields)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {columns} FROM {model._meta.db_table} "
            f"WHERE {where} AND deleted_at IS NULL ORDER BY id LIMIT %s OFFSET %s",
            [*params, limit, offset],
        )
        rows = cursor.fetchall()
    readers = [
        (index, field.from_db_value)
        for index, field in enumerate(fields)
        if isinstance(field, EncryptedTextField | EncryptedJSONField)
    ]
    page = []
    for row in rows:
        values = list(row)
        for index, read in readers:
            if values[index] is not None:
                values[index] = read(values[index], None, connection)
        page.append({field.attname: value for field, value in zip(fields, values, strict=True)})
    return page


def _limit(request, default: int = 10) -> int:
    return min(max(int(request.GET.get("limit", default)), 1), 100)


def raw_page(request):
    organization = request.headers.get("X-Organization-Id")
    where, params = "organization_id = %s", [organization]
    if "after" in request.GET:
        where += " AND id > %s"
        params.append(uuid.UUID(request.GET["after"]))
    offset = int(request.GET.get("offset", 0))
    page = _decrypted_page(Holder, where, params, _limit(request), offset)
    return JsonResponse({"items": page})


def raw_aliases(request):
    organization = request.headers.get("X-Organization-Id")
    if "holder_id" in request.GET:
        where, value = "holder_id = %s", uuid.UUID(request.GET["holder_id"])
    else:
        where, value = "account_id = %s", request.GET["account_id"]
    page = _decrypted_page(
        AliasAccount, f"organization_id = %s AND {where}", [organization, value], _limit(request)
    )
    return JsonResponse({"items": page})
