"""Floors: what an endpoint's throughput is compared with, in the same gunicorn.

* `bare_json` — a Django view returning a constant JSON object: the cost of the stack alone.
* `raw_select` — the thinnest view doing GET holder's database work: one raw `SELECT` by
  organization and primary key, columns returned as they are stored (nothing decrypted).
* `raw_insert` — the thinnest view doing create holder's database work: one raw `INSERT` of a
  row of the same shape, nothing validated, into an organization of its own
  (`FLOOR_ORGANIZATION`), so the measured lists never meet its rows. Where the ciphertext
  goes it writes one value encrypted once per process (`_sealed`): the rows cost no
  encryption, and a page that lists every organization's holders (the admin's) can still
  read them. Its statement is prepared on the server, as the services' `INSERT`s are.
"""

import os
import uuid
from functools import cache

from django.db import connection
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

from crm.db.postgresql.base import PreparedSQL
from crm.ids import uuid7
from holders.models import Holder

FLOOR_ORGANIZATION = uuid.UUID("0196a3f4-1c2b-7cde-8f00-00000000f100")


def bare_json(request):
    return JsonResponse({"ok": True})


def raw_select(request, holder_id: uuid.UUID):
    organization = request.headers.get("X-Organization-Id")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, type, external_id, created_at FROM holders_holder "
            "WHERE organization_id = %s AND id = %s AND deleted_at IS NULL",
            [organization, holder_id],
        )
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
def _sealed(field_name: str, text: str):
    """`text` as the holder's encrypted column `field_name` stores it (the field's own
    preparation, current key)."""
    return Holder._meta.get_field(field_name).get_db_prep_save(text, connection)


@csrf_exempt
def raw_insert(request):
    request.headers.get("X-Organization-Id")  # read, as the API reads it
    organization = FLOOR_ORGANIZATION
    holder_id = uuid7()
    with connection.cursor() as cursor:
        cursor.execute(
            INSERT_SQL,
            [
                holder_id,
                organization,
                _sealed("name", "Floor Holder"),
                _sealed("document", "00000000000"),
                os.urandom(32).hex(),
            ],
        )
    return JsonResponse({"id": str(holder_id)}, status=201)
