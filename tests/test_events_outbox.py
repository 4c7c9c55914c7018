"""Change events, outbox side: every write of every path (API, admin, commands, bulk import)
appends exactly its event, with docs/api.md §7.5 payload and nothing personal, in the
write's own transaction; nothing with EVENTS_ENABLED off (docs/events.md)."""

import datetime as dt
import io
import json
import uuid

import pytest
from cloudevents.core.bindings import amqp
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from aliases.models import AliasAccount
from aliases.services import alias_create, alias_soft_delete
from crm import lifecycle
from events import broker, catalogue, outbox
from events.models import OutboxEvent
from holders.models import Holder
from holders.services import holder_soft_delete
from registry.importing import Importer
from tests.conftest import ORG_A
from tests.factories import AliasFactory, HolderFactory

# Personal values the tests write; none may reach the outbox or a message.
NAME = "Maria Sigilosa Pereira"
DOCUMENT = "52998224725"
EMAIL = "maria.sigilosa@example.com"
PHONE = "+5511987654321"
ACCOUNT = "98765-4"
IBAN = "BR1800360305000010009795493C1"
PARTY_DOCUMENT = "11144477735"
PARTY_NAME = "Ana Representante Secreta"
METADATA_VALUE = "segredo-de-metadata"
PERSONAL = (
    NAME,
    DOCUMENT,
    EMAIL,
    PHONE,
    ACCOUNT,
    IBAN,
    PARTY_DOCUMENT,
    PARTY_NAME,
    METADATA_VALUE,
)

HOLDER_STATE = {"id", "organizationId", "type", "externalId", "createdAt", "updatedAt"}
ALIAS_STATE = {
    "id",
    "holderId",
    "organizationId",
    "ledgerId",
    "accountId",
    "type",
    "createdAt",
    "updatedAt",
    "relatedParties",
}


@pytest.fixture
def events_on(settings):
    settings.EVENTS_ENABLED = True


def holder_body(**overrides) -> dict:
    return {
        "type": "NATURAL_PERSON",
        "name": NAME,
        "document": DOCUMENT,
        "externalId": "EXT-1",
        "contact": {"primaryEmail": EMAIL, "mobilePhone": PHONE},
        "metadata": {"segment": METADATA_VALUE},
        **overrides,
    }


def alias_body(**overrides) -> dict:
    return {
        "ledgerId": "0196a3f4-0000-7000-8000-000000000001",
        "accountId": "0196a3f4-0000-7000-8000-000000000a01",
        "bankingDetails": {"branch": "0001", "account": ACCOUNT, "type": "CACC", "iban": IBAN},
        "regulatoryFields": {"participantDocument": "12345678000190"},
        "relatedParties": [
            {
                "document": PARTY_DOCUMENT,
                "name": PARTY_NAME,
                "role": "LEGAL_REPRESENTATIVE",
                "startDate": "2024-01-01",
            }
        ],
        "metadata": {"use": METADATA_VALUE},
        **overrides,
    }


def events() -> list[OutboxEvent]:
    return list(OutboxEvent.objects.order_by("seq"))


def keys() -> list[str]:
    return [row.type for row in events()]


def assert_no_personal_data() -> None:
    dumped = json.dumps([row.payload for row in events()])
    for value in PERSONAL:
        assert value not in dumped


def holder_url(holder_id, suffix="") -> str:
    return f"/v1/holders/{holder_id}{suffix}"


# --- The API's writes ----------------------------------------------------------------------------


def test_holder_lifecycle_through_the_api_appends_reference_payloads(api, events_on):
    created = api.post("/v1/holders", holder_body()).json()
    holder_id = created["id"]
    assert api.patch(holder_url(holder_id), {"externalId": "EXT-2"}).status_code == 200
    assert api.delete(holder_url(holder_id)).status_code == 204

    rows = events()
    assert [row.type for row in rows] == ["holder.created", "holder.updated", "holder.deleted"]
    created_event, updated_event, deleted_event = rows
    assert created_event.payload == {
        "id": holder_id,
        "organizationId": str(ORG_A),
        "type": "NATURAL_PERSON",
        "externalId": "EXT-1",
        "createdAt": created["createdAt"],
        "updatedAt": created["updatedAt"],
    }
    assert set(updated_event.payload) == HOLDER_STATE
    assert updated_event.payload["externalId"] == "EXT-2"
    stored = Holder.all_objects.get(pk=holder_id)
    assert deleted_event.payload == {
        "id": holder_id,
        "organizationId": str(ORG_A),
        "deletionType": "soft",
        "deletedAt": stored.deleted_at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }
    for row in rows:
        assert row.aggregate_kind == "holder"
        assert str(row.aggregate_id) == holder_id
        assert row.organization_id == ORG_A
        assert row.sent_at is None
    assert_no_personal_data()


def test_holder_without_external_id_has_null_external_id(api, events_on):
    api.post("/v1/holders", holder_body(externalId=None))
    assert events()[0].payload["externalId"] is None


def test_hard_delete_of_a_live_holder_is_deleted_hard(api, events_on):
    holder_id = api.post("/v1/holders", holder_body()).json()["id"]
    assert api.delete(holder_url(holder_id) + "?hard_delete=true").status_code == 204
    erased = events()[-1]
    assert erased.type == "holder.deleted"
    assert set(erased.payload) == {"id", "organizationId", "deletionType", "deletedAt"}
    assert erased.payload["deletionType"] == "hard"
    assert_no_personal_data()


def test_hard_delete_of_a_soft_deleted_holder_is_erased(api, events_on):
    holder_id = api.post("/v1/holders", holder_body()).json()["id"]
    api.delete(holder_url(holder_id))
    api.delete(holder_url(holder_id) + "?hard_delete=true")
    assert keys() == ["holder.created", "holder.deleted", "holder.erased"]
    assert set(events()[-1].payload) == {"id", "organizationId", "erasedAt"}
    assert events()[1].payload["deletionType"] == "soft"


def test_alias_lifecycle_through_the_api_appends_reference_payloads(api, events_on):
    holder_id = api.post("/v1/holders", holder_body()).json()["id"]
    alias = api.post(holder_url(holder_id, "/aliases"), alias_body()).json()
    alias_url = holder_url(holder_id, f"/aliases/{alias['id']}")
    party_id = alias["relatedParties"][0]["id"]
    assert api.patch(alias_url, {"metadata": {"use": "other"}}).status_code == 200
    assert api.delete(f"{alias_url}/related-parties/{party_id}").status_code == 204
    assert api.delete(alias_url).status_code == 204
    assert api.delete(alias_url + "?hard_delete=true").status_code == 204

    rows = [row for row in events() if row.aggregate_kind == "alias"]
    assert [row.type for row in rows] == [
        "alias.created",
        "alias.updated",
        "alias.related-party-deleted",
        "alias.deleted",
        "alias.erased",
    ]
    created, updated, party_deleted, deleted, erased = (row.payload for row in rows)
    assert created == {
        "id": alias["id"],
        "holderId": holder_id,
        "organizationId": str(ORG_A),
        "ledgerId": alias["ledgerId"],
        "accountId": alias["accountId"],
        "type": "NATURAL_PERSON",
        "createdAt": alias["createdAt"],
        "updatedAt": alias["updatedAt"],
        "relatedParties": [{"relatedPartyId": party_id, "role": "LEGAL_REPRESENTATIVE"}],
    }
    assert set(updated) == ALIAS_STATE
    assert set(party_deleted) == {
        "aliasId",
        "holderId",
        "organizationId",
        "relatedPartyId",
        "deletedAt",
    }
    assert party_deleted["aliasId"] == alias["id"]
    assert party_deleted["relatedPartyId"] == party_id
    assert rows[2].aggregate_id == uuid.UUID(alias["id"])  # the subject is the alias
    assert set(deleted) == {"id", "holderId", "organizationId", "deletionType", "deletedAt"}
    assert deleted["deletionType"] == "soft"
    assert set(erased) == {"id", "holderId", "organizationId", "erasedAt"}
    assert_no_personal_data()


def test_alias_without_related_parties_has_null_related_parties(api, events_on):
    holder_id = api.post("/v1/holders", holder_body()).json()["id"]
    api.post(holder_url(holder_id, "/aliases"), alias_body(relatedParties=None))
    assert events()[-1].payload["relatedParties"] is None


def test_restore_appends_restored_events_with_the_live_state(events_on, db):
    alias = AliasFactory()
    ids = {"organization_id": ORG_A, "holder_id": alias.holder_id, "alias_id": alias.id}
    alias_soft_delete(**ids)
    from aliases.services import alias_restore

    alias_restore(**ids)
    restored = events()[-1]
    assert restored.type == "alias.restored"
    assert set(restored.payload) == ALIAS_STATE


# --- Transactions --------------------------------------------------------------------------------


def create_then_fail() -> None:
    with transaction.atomic():
        HolderFactory()
        raise RuntimeError("rolled back")


def test_a_rolled_back_write_appends_nothing(events_on, db):
    with pytest.raises(RuntimeError):
        create_then_fail()
    assert not Holder.all_objects.exists()
    assert events() == []


def test_a_refused_write_appends_nothing(api, events_on):
    api.post("/v1/holders", holder_body())
    assert api.post("/v1/holders", holder_body()).status_code == 409
    holder_id = events()[0].aggregate_id
    assert api.patch(holder_url(holder_id), {"type": "LEGAL_PERSON"}).status_code == 400
    assert keys() == ["holder.created"]


def test_events_off_writes_nothing(api, settings):
    settings.EVENTS_ENABLED = False
    holder_id = api.post("/v1/holders", holder_body()).json()["id"]
    api.patch(holder_url(holder_id), {"externalId": "X"})
    api.delete(holder_url(holder_id) + "?hard_delete=true")
    assert events() == []


def statements_of_a_create(api, settings, *, events: bool, document: str) -> list[str]:
    settings.EVENTS_ENABLED = events
    with CaptureQueriesContext(connection) as captured:
        assert api.post("/v1/holders", holder_body(document=document)).status_code == 201
    return [query["sql"] for query in captured.captured_queries]


def test_a_create_is_one_statement_with_its_index_rows_audit_entry_and_event_on_postgresql(
    api, settings
):
    """An API create with events on costs no extra round trip on PostgreSQL: the holder, its
    name word and metadata pair index rows, its audit entry, its version and its outbox row
    are one statement (data-modifying CTEs); elsewhere one statement per table."""
    off = statements_of_a_create(api, settings, events=False, document=DOCUMENT)
    on = statements_of_a_create(api, settings, events=True, document="11144477735")
    inserts = [sql for sql in on if sql.lstrip().upper().startswith(("INSERT", "WITH"))]
    tables = (
        "holders_holder",
        "holders_holdernametoken",
        "holders_holdermetadatapair",
        "crm_auditentry",
        "crm_recordversion",
        "events_outboxevent",
    )
    if connection.vendor == "postgresql":
        assert len(on) == len(off)
        assert len(inserts) == 1
        assert all(f'INSERT INTO "{table}"' in inserts[0] for table in tables)
    else:
        assert len(on) == len(off) + 1
        assert [next(t for t in tables if f'INTO "{t}"' in sql) for sql in inserts] == list(tables)
    assert keys() == ["holder.created"]


# --- The admin's and the commands' writes --------------------------------------------------------


def test_admin_writes_append_events(admin_client, events_on):
    holder = HolderFactory(name=NAME, document=DOCUMENT)
    changelist = reverse("admin:holders_holder_changelist")
    for action, state in (("soft_delete_selected", ""), ("restore_selected", "?state=deleted")):
        response = admin_client.post(
            changelist + state, {"action": action, "_selected_action": [str(holder.pk)]}
        )
        assert response.status_code == 302
    erase = reverse("admin:holders_holder_hard_delete", args=[holder.pk])
    assert admin_client.post(erase, {"post": "yes", "reason": "erasure request"}).status_code == 302
    assert keys() == [
        "holder.created",
        "holder.deleted",
        "holder.restored",
        "holder.deleted",
    ]
    assert [row.payload.get("deletionType") for row in events()][1::2] == ["soft", "hard"]
    assert_no_personal_data()


def test_admin_related_party_removal_is_a_related_party_deleted_event(admin_client, events_on):
    alias = AliasFactory(relatedParties=alias_body()["relatedParties"])
    party = alias.related_parties.get()
    url = reverse("admin:aliases_aliasaccount_change", args=[alias.pk])
    from tests.test_admin import form_data

    data = form_data(admin_client.get(url))
    prefix = "related_parties"
    data[f"{prefix}-0-id"] = str(party.pk)
    data[f"{prefix}-0-alias"] = str(alias.pk)
    data[f"{prefix}-0-DELETE"] = "on"
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert "alias.related-party-deleted" in keys()
    removal = OutboxEvent.objects.get(type="alias.related-party-deleted")
    assert removal.payload["relatedPartyId"] == str(party.pk)


def test_erasing_a_holder_with_its_aliases_appends_one_event_per_record(events_on, db):
    holder = HolderFactory()
    live = AliasFactory(holder=holder)
    gone = AliasFactory(holder=holder)
    alias_soft_delete(organization_id=ORG_A, holder_id=holder.pk, alias_id=gone.pk)
    OutboxEvent.objects.all().delete()
    call_command("hard_delete", "holders", str(holder.pk), "--yes", stdout=io.StringIO())
    by_id = {row.aggregate_id: row for row in events()}
    assert by_id[live.pk].type == "alias.deleted"
    assert by_id[live.pk].payload["deletionType"] == "hard"
    assert by_id[live.pk].payload["holderId"] == str(holder.pk)
    assert by_id[gone.pk].type == "alias.erased"
    assert by_id[holder.pk].type == "holder.deleted"
    # Children first: a consumer never sees an alias outlive its holder.
    assert events()[-1].aggregate_id == holder.pk


def test_retention_purge_appends_erased_events(events_on, db):
    holder = HolderFactory()
    holder_soft_delete(organization_id=ORG_A, holder_id=holder.pk)
    purge = lifecycle.retention_purge(timezone.now() + dt.timedelta(seconds=1))
    lifecycle.run_purge(purge, batch_size=10, announce=outbox.erasure_events)
    assert keys()[-1] == "holder.erased"


def test_an_erasure_removes_the_records_sent_events(events_on, db):
    holder = HolderFactory()
    other = HolderFactory()
    OutboxEvent.objects.update(sent_at=timezone.now())
    call_command("hard_delete", "holders", str(holder.pk), "--yes", stdout=io.StringIO())
    remaining = {(row.aggregate_id, row.type) for row in events()}
    assert remaining == {(other.pk, "holder.created"), (holder.pk, "holder.deleted")}


# --- Bulk import ---------------------------------------------------------------------------------


def import_lines(*bodies: dict) -> None:
    payload = b"".join(json.dumps(body).encode() + b"\n" for body in bodies)
    Importer(organization_id=ORG_A, workers=0, batch_size=2).run(io.BytesIO(payload))


def test_bulk_import_appends_created_events_in_its_batches(events_on, db):
    import_lines(
        {**holder_body(), "aliases": [alias_body()]},
        holder_body(document="39053344705", externalId=None),
        holder_body(document="11122233396", externalId="E3"),
    )
    holders = Holder.objects.order_by("id")
    alias = AliasAccount.objects.get()
    assert sorted(keys()) == ["alias.created"] + ["holder.created"] * 3
    by_id = {row.aggregate_id: row for row in events()}
    assert {holder.pk for holder in holders} <= set(by_id)
    party = alias.related_parties.get()
    assert by_id[alias.pk].payload["relatedParties"] == [
        {"relatedPartyId": str(party.pk), "role": "LEGAL_REPRESENTATIVE"}
    ]
    for holder in holders:
        assert set(by_id[holder.pk].payload) == HOLDER_STATE
        assert by_id[holder.pk].payload["createdAt"] is not None
    assert_no_personal_data()


def test_bulk_import_with_events_off_appends_nothing(db, settings):
    settings.EVENTS_ENABLED = False
    import_lines(holder_body())
    assert Holder.objects.count() == 1
    assert events() == []


def test_api_payload_equals_bulk_import_payload_shape(api, events_on):
    api.post("/v1/holders", holder_body())
    import_lines(holder_body(document="39053344705"))
    first, second = events()
    assert set(first.payload) == set(second.payload)


# --- The envelope --------------------------------------------------------------------------------


def test_message_is_a_binary_mode_cloudevent_per_the_amqp_binding(events_on, db):
    holder = HolderFactory()
    alias = alias_create(organization_id=ORG_A, holder_id=holder.pk, data=alias_body())
    row = OutboxEvent.objects.get(type="alias.created")
    routing_key, properties, body = broker.message(row)
    assert routing_key == "studio.lerian.alias.created"
    assert properties.content_type == "application/json"
    assert properties.message_id == str(row.event_id)
    headers = properties.headers
    assert headers["cloudEvents_specversion"] == "1.0"
    assert headers["cloudEvents_type"] == "studio.lerian.alias.created"
    assert headers["cloudEvents_source"] == catalogue.SOURCE
    assert headers["cloudEvents_id"] == str(row.event_id)
    assert headers["cloudEvents_subject"] == str(alias.pk)
    assert headers["cloudEvents_tenantid"] == str(ORG_A)
    assert json.loads(body) == row.payload
    decoded = amqp.from_binary(
        amqp.AMQPMessage({"content-type": properties.content_type}, headers, body),
        amqp.JSONFormat(),
    )
    assert decoded.get_type() == "studio.lerian.alias.created"
    assert decoded.get_data() == row.payload


# --- Backlog: /readyz and the admin --------------------------------------------------------------


def test_readyz_reports_the_backlog_when_events_are_on(client, events_on, transactional_db):
    """Committed rows: the probe reads on a connection of its own."""
    HolderFactory()
    HolderFactory()
    body = client.get("/readyz").json()
    assert body["status"] == "healthy"
    assert body["checks"]["events"]["status"] == "up"
    assert body["checks"]["events"]["pending"] == 2
    assert body["checks"]["events"]["oldestPendingAgeSeconds"] >= 0
    OutboxEvent.objects.update(sent_at=timezone.now())
    assert client.get("/readyz").json()["checks"]["events"]["pending"] == 0


def test_readyz_without_events_has_no_events_check(client, db, settings):
    settings.EVENTS_ENABLED = False
    assert "events" not in client.get("/readyz").json()["checks"]


def test_admin_index_shows_the_backlog(admin_client, events_on):
    HolderFactory()
    OutboxEvent.objects.update(created_at=timezone.now() - dt.timedelta(minutes=5))
    response = admin_client.get(reverse("admin:index"))
    assert response.status_code == 200
    assert 'id="outbox-backlog"' in response.text
    assert '<td id="outbox-pending">1</td>' in response.text
    assert "5 min ago" in response.text


def test_outbox_admin_list_is_read_only(admin_client, events_on):
    HolderFactory()
    url = reverse("admin:events_outboxevent_changelist")
    assert admin_client.get(url, {"state": "pending"}).status_code == 200
    assert admin_client.get(reverse("admin:events_outboxevent_add")).status_code == 403
