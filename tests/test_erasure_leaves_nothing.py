"""An erasure leaves nothing behind but the erasure record (docs/api.md §5, §7, §12; issue 12
item 5, issue 27 item 7).

A holder is given every kind of trace the service can write about it: API creates and updates
with `Idempotency-Key`s, an alias with related parties, a removed party, admin edits (admin log
rows), soft deletes, and with each change a version (its whole body, encrypted). Then it is
erased through the API, the admin or the command, and

* the **whole database** is searched, every table and every column, for the ids of the holder,
  its aliases and their parties (both spellings: `0196…-…` and the 32-hex form SQLite stores)
  and every search hash they had;
* a **full dump** of it (`pg_dump` on PostgreSQL, SQLite's own `iterdump` elsewhere) is searched
  for the same ids and hashes and for the person's values, also inside every encrypted value
  it holds (each one decrypted with the service's keys): so no version, stored answer or other
  encrypted copy keeps them.

The only rows allowed to mention them are the `hard_delete` audit entries: the erasure record
itself (ids, never values).
"""

import json
import os
import pickle
import re
import subprocess
import uuid

import pytest
from django.apps import apps
from django.contrib.sessions.backends.db import SessionStore
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from aliases.models import AliasAccount, RelatedParty
from crm.crypto.encryption import DecryptionError, keyring
from crm.models import AuditEntry, IdempotencyRecord, RecordVersion
from holders.models import Holder, HolderNameToken
from tests.factories import alias_payload, holder_payload
from tests.test_admin import form_data

PARTIES = [
    {
        "document": "98765432100",
        "name": "Ana",
        "role": "LEGAL_REPRESENTATIVE",
        "startDate": "2024-01-01",
    },
    {
        "document": "11122233344",
        "name": "Bruno",
        "role": "RESPONSIBLE_PARTY",
        "startDate": "2024-02-01",
    },
]


# The person's values the traced holder carries (encrypted wherever they are stored).
CONTACT = {"primaryEmail": "erased.person@example.com", "mobilePhone": "+5511987650001"}
ACCOUNT = "77712-3"
IBAN = "BR1800360305000010009795493C1"
PARTICIPANT = "12345678000190"


def _traced_holder(api, admin_client) -> uuid.UUID:
    """A holder with every trace the API and the admin leave; returns its id."""
    created = api.post(
        "/v1/holders", holder_payload(contact=CONTACT), HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4())
    ).json()
    holder_id = created["id"]
    api.patch(
        f"/v1/holders/{holder_id}", {"externalId": "EXT-1"}, HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4())
    )
    alias = api.post(
        f"/v1/holders/{holder_id}/aliases",
        alias_payload(
            relatedParties=PARTIES,
            regulatoryFields={"participantDocument": PARTICIPANT},
            bankingDetails={"branch": "0001", "account": ACCOUNT},
        ),
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
    ).json()
    alias_path = f"/v1/holders/{holder_id}/aliases/{alias['id']}"
    api.patch(
        alias_path,
        {"bankingDetails": {"iban": IBAN}},
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
    )
    api.delete(f"{alias_path}/related-parties/{alias['relatedParties'][1]['id']}")
    second = api.post(f"/v1/holders/{holder_id}/aliases", alias_payload()).json()
    refused = api.post(  # a final 400, stored under its key: a record about this holder too
        f"/v1/holders/{holder_id}/aliases",
        {"ledgerId": str(uuid.uuid4())},  # no accountId
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
    )
    assert refused.status_code == 400

    # The admin: edit the holder (an admin log row), soft-delete an alias through an action.
    change = reverse("admin:holders_holder_change", args=[holder_id])
    page = admin_client.get(change)
    data = form_data(page)
    for inline in page.context["inline_admin_formsets"]:  # the listed aliases, as rendered
        for form in inline.formset.forms:
            for name in form.fields:
                value = form.initial.get(name, form.fields[name].initial)
                data[form.add_prefix(name)] = getattr(value, "pk", value) or ""
    data["externalId"] = "EXT-2"
    response = admin_client.post(change, data)
    assert response.status_code == 302
    admin_client.post(
        reverse("admin:aliases_aliasaccount_changelist"),
        {"action": "soft_delete_selected", "_selected_action": [second["id"]]},
    )
    assert api.delete(alias_path).status_code == 204  # soft: the holder may now be erased
    return uuid.UUID(holder_id)


def _idempotency_records_about(holder_id: uuid.UUID) -> int:
    return IdempotencyRecord.objects.filter(
        object_id__in=[
            holder_id,
            *AliasAccount.all_objects.filter(holder_id=holder_id).values_list("id", flat=True),
        ]
    ).count()


def _needles(holder_id: uuid.UUID) -> set[str]:
    """Every id and search hash of the holder and what belongs to it, in every spelling."""
    rows = [
        *Holder.all_objects.filter(id=holder_id),
        *HolderNameToken.objects.filter(holder_id=holder_id),
        *AliasAccount.all_objects.filter(holder_id=holder_id),
        *RelatedParty.objects.filter(alias__holder_id=holder_id),
    ]
    needles: set[str] = set()
    for row in rows:
        if isinstance(row.pk, uuid.UUID):
            needles |= {str(row.pk), row.pk.hex}
        for field in row._meta.concrete_fields:
            value = getattr(row, field.attname)
            if field.name.endswith("hash") and value:
                needles.add(str(value))  # name tokens are integers
    assert len(needles) > 15  # ids and hashes of the holder, 2 aliases, parties, name words
    return needles


def _rows_as_text(table: str, columns: list[str]):
    quoted = ", ".join(connection.ops.quote_name(column) for column in columns)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {quoted} FROM {connection.ops.quote_name(table)}")
        for values in cursor.fetchall():
            row = dict(zip(columns, values, strict=True))
            if table == "django_session":  # signed and encoded: look inside
                row["session_data"] = SessionStore().decode(row["session_data"])
            yield row, json.dumps(row, default=_text).lower()


def _text(value) -> str:
    if isinstance(value, bytes | memoryview):
        raw = bytes(value)
        return raw.hex() + " " + raw.decode("latin-1")
    return str(value)


def _leftovers(needles: set[str]) -> list[str]:
    """`table.column` of every row (but the erasure record) that mentions a needle."""
    audit_table = AuditEntry._meta.db_table
    found = []
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
        descriptions = {
            table: [c.name for c in connection.introspection.get_table_description(cursor, table)]
            for table in tables
        }
    assert {model._meta.db_table for model in apps.get_models()} <= set(tables)
    for table, columns in descriptions.items():
        for row, text in _rows_as_text(table, columns):
            if table == audit_table and (row["action"] == "hard_delete" or row["redacted"]):
                # The erasure record (who erased which id, when) and the record's earlier
                # entries cleared to their frame (crm.lifecycle.chain.redact) may name the
                # erased id; nothing else of it, and no hash.
                text = json.dumps({**row, "object_id": None}, default=_text).lower()
            hits = [needle for needle in needles if needle.lower() in text]
            if hits:
                found.append(f"{table}: {sorted(hits)[:2]} in {row}")
    return found


def _values(holder_id: uuid.UUID) -> set[str]:
    """The person's values: the holder's name and document, its contact, the alias's account,
    IBAN and participant document, the parties' documents (lower case, as searched)."""
    holder = Holder.all_objects.get(id=holder_id)
    values = {holder.name, holder.document, *CONTACT.values(), ACCOUNT, IBAN, PARTICIPANT}
    values |= {party["document"] for party in PARTIES}
    return {value.lower() for value in values}


def _versions_of(holder_id: uuid.UUID) -> int:
    aliases = AliasAccount.all_objects.filter(holder_id=holder_id).values_list("id", flat=True)
    return RecordVersion.objects.filter(object_id__in=[holder_id, *aliases]).count()


def _full_dump() -> str:
    """The whole database as its own dump tool writes it: `pg_dump --data-only` of the test
    database on PostgreSQL (what the test wrote must be committed: `transactional_db`),
    `iterdump()` of the connection on SQLite."""
    if connection.vendor != "postgresql":
        connection.ensure_connection()
        return "\n".join(connection.connection.iterdump())
    db = connection.settings_dict
    command = ["pg_dump", "--data-only", "--no-owner", "-h", db["HOST"] or "127.0.0.1"]
    command += ["-p", str(db["PORT"] or 5432), "-U", db["USER"], db["NAME"]]
    env = {**os.environ, "PGPASSWORD": db["PASSWORD"] or ""}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120, check=True)
    return done.stdout


# An encrypted value in a dump: `\\x…` in a `COPY` block (pg_dump), `X'…'` (SQLite).
_BLOB = re.compile(r"\\\\x([0-9a-f]+)|X'([0-9A-Fa-f]+)'")


def _decrypted(line: str) -> str:
    """The plaintext of every value in a dump line that the service's keys decrypt."""
    found = []
    for match in _BLOB.finditer(line):
        try:
            plain = keyring().decrypt(bytes.fromhex(match.group(1) or match.group(2)))
        except (DecryptionError, ValueError):
            continue
        found.append(json.dumps(pickle.loads(plain), default=str, ensure_ascii=False))
    return " ".join(found).lower()


# An id in a needle set: a UUID, hyphenated or as the 32 hex digits SQLite stores.
_ID = re.compile(r"^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$")


def _dump_leftovers(needles: set[str], values: set[str]) -> list[tuple[str, set[str], str]]:
    """(table, what it mentions, the line's start) for every line of a full dump that mentions
    an id or hash of the holder's, or one of its values in plaintext or inside a decrypted
    value. The audit trail may name the erased ids (the erasure record says which records
    went), never a hash or a value of theirs."""
    audit_table = AuditEntry._meta.db_table
    table, found = "", []
    for line in _full_dump().splitlines():
        if line.startswith("COPY "):  # pg_dump: the table of the lines that follow
            table = line.split()[1].split(".")[-1].strip('"')
        elif line.startswith("INSERT INTO"):  # SQLite: the table of this line
            table = line.split()[2].strip('"')
        text = line.lower() + " " + _decrypted(line)
        hits = {needle for needle in needles | values if needle.lower() in text}
        if table == audit_table:
            hits = {hit for hit in hits if not _ID.match(hit.lower())}
        if hits:
            found.append((table, hits, line[:120]))
    return found


def _erase_by_api(api, admin_client, holder_id):
    response = api.delete(f"/v1/holders/{holder_id}?hard_delete=true")
    assert response.status_code == 204, response.content


def _erase_by_admin(api, admin_client, holder_id):
    url = reverse("admin:holders_holder_hard_delete", args=[holder_id])
    assert admin_client.post(url, {"post": "yes", "reason": "erasure request"}).status_code == 302


def _erase_by_command(api, admin_client, holder_id):
    call_command("hard_delete", "holders", str(holder_id), "--yes")


@pytest.mark.parametrize(
    "erase", [_erase_by_api, _erase_by_admin, _erase_by_command], ids=["api", "admin", "command"]
)
def test_after_an_erasure_no_table_mentions_the_holder(api, admin_client, erase):
    holder_id = _traced_holder(api, admin_client)
    needles = _needles(holder_id)
    assert _leftovers(needles)  # the search finds the traces while they are there
    assert IdempotencyRecord.objects.count() == _idempotency_records_about(holder_id) == 5
    assert _versions_of(holder_id) >= 9  # holder: 3 (create, 2 edits); aliases: 6 and more

    erase(api, admin_client, holder_id)

    assert _leftovers(needles) == []
    assert not RecordVersion.objects.exists()
    assert not IdempotencyRecord.objects.exists()  # the refused request's record too
    erasures = AuditEntry.objects.filter(action="hard_delete")
    assert {entry.object_type for entry in erasures} == {"holder", "alias"}
    assert erasures.filter(object_id=holder_id).count() == 1


@pytest.mark.parametrize(
    "erase", [_erase_by_api, _erase_by_admin, _erase_by_command], ids=["api", "admin", "command"]
)
def test_after_an_erasure_a_full_dump_holds_nothing_of_the_holder(
    transactional_db, api, admin_client, erase
):
    """The database's own dump, encrypted values opened: no id, hash, value or version of
    the erased person."""
    holder_id = _traced_holder(api, admin_client)
    needles, values = _needles(holder_id), _values(holder_id)
    before = _dump_leftovers(needles, values)
    # The dump shows them while they are there: every value, in the versions' bodies too.
    assert values <= {hit for _table, hits, _line in before for hit in hits}
    in_versions = {
        hit for table, hits, _ in before if table == RecordVersion._meta.db_table for hit in hits
    }
    assert values <= in_versions

    erase(api, admin_client, holder_id)

    assert _dump_leftovers(needles, values) == []


def test_an_unrelated_holder_keeps_its_traces(api, admin_client):
    kept = _traced_holder(api, admin_client)
    erased = _traced_holder(api, admin_client)
    kept_needles = _needles(kept)

    _erase_by_api(api, admin_client, erased)

    assert _leftovers(kept_needles)
    assert Holder.all_objects.filter(id=kept).exists()
    assert _versions_of(kept) >= 9
