"""Every change of a holder or an alias account writes a version in its own transaction (docs/api.md
§12; issue 27, deliverables 1 and 8): the API, the admin, the services behind restore and
related-party removal, the bulk import. A version keeps its number (1, 2, … per record), when
(the record's `updatedAt`), who and which fields (the audit entry's own), the action, and the
record's whole API body after the change — encrypted, with no search hash. A write that changes
nothing, or only reads, writes none; a retention purge erases them with the record."""

import datetime as dt
import json
import uuid
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from aliases.models import AliasAccount
from aliases.services import alias_restore, alias_soft_delete
from crm import lifecycle
from crm.access.auth import issue_token
from crm.lifecycle import audit
from crm.models import ApiToken, AuditEntry, RecordVersion
from holders.models import Holder
from holders.services import holder_restore, holder_update
from tests.conftest import ORG_A
from tests.factories import alias_payload, holder_payload
from tests.test_admin import alias_change_url, change_url, form_data

NAME = "Joana Versionada Prado"
DOCUMENT = "52998224725"
PARTY = {
    "document": "11144477735",
    "name": "Rep Legal",
    "role": "LEGAL_REPRESENTATIVE",
    "startDate": "2024-01-01",
}


def versions(object_id) -> list[RecordVersion]:
    """A record's versions, oldest first."""
    return list(RecordVersion.objects.filter(object_id=object_id).order_by("number"))


def summary(object_id) -> list[tuple]:
    """(number, action, fields, actor type, actor) of a record's versions, oldest first."""
    return [
        (v.number, v.action, v.changed_fields, v.actor_type, v.actor) for v in versions(object_id)
    ]


def assert_same_as_the_audit(object_id) -> None:
    """Each version names the actor and fields of the audit entry of its change."""
    entries = AuditEntry.objects.filter(object_id=object_id).order_by("created_at", "id")
    changes = [e for e in entries if e.action in lifecycle.versions.VERSIONED]
    assert [(e.action, e.changed_fields, e.actor_type, e.actor) for e in changes] == [
        (v.action, v.changed_fields, v.actor_type, v.actor) for v in versions(object_id)
    ]


# --- The API --------------------------------------------------------------------------------------


def test_api_create_update_soft_delete_and_restore_of_a_holder_each_write_a_version(api):
    created = api.post("/v1/holders", holder_payload(name=NAME, document=DOCUMENT))
    holder_id = created.json()["id"]
    patched = api.patch(f"/v1/holders/{holder_id}", {"externalId": "EXT-1", "name": "Joana P"})
    assert api.delete(f"/v1/holders/{holder_id}").status_code == 204
    deleted = api.get(f"/v1/holders/{holder_id}?include_deleted=true").json()
    with audit.acting_as(audit.Actor("staff", "clerk")):  # restore: the admin's, a service
        holder_restore(organization_id=ORG_A, holder_id=uuid.UUID(holder_id))
    restored = api.get(f"/v1/holders/{holder_id}").json()

    assert summary(holder_id) == [
        (1, "create", ["document", "name", "type"], "api", "anonymous"),
        (2, "update", ["externalId", "name"], "api", "anonymous"),
        (3, "soft_delete", ["deletedAt"], "api", "anonymous"),
        (4, "restore", ["deletedAt"], "staff", "clerk"),
    ]
    bodies = [v.body for v in versions(holder_id)]
    assert bodies == [created.json(), patched.json(), deleted, restored]
    holder = Holder.objects.get(id=holder_id)
    assert versions(holder_id)[0].changed_at == holder.created_at
    assert versions(holder_id)[-1].changed_at == holder.updated_at
    assert holder.version == 4
    assert {v.organization_id for v in versions(holder_id)} == {ORG_A}
    assert {v.object_type for v in versions(holder_id)} == {"holder"}
    assert_same_as_the_audit(holder_id)


def test_api_writes_of_an_alias_each_write_a_version_related_parties_included(api):
    holder_id = api.post("/v1/holders", holder_payload()).json()["id"]
    base = f"/v1/holders/{holder_id}/aliases"
    created = api.post(base, alias_payload(relatedParties=[PARTY])).json()
    path = f"{base}/{created['id']}"
    added = api.patch(path, {"relatedParties": [{**PARTY, "document": "98765432100"}]}).json()
    removed_id = added["relatedParties"][0]["id"]
    assert api.delete(f"{path}/related-parties/{removed_id}").status_code == 204
    after_removal = api.get(path).json()
    banked = api.patch(path, {"bankingDetails": {"iban": "BR1800360305000010009795493C1"}})
    assert api.delete(path).status_code == 204
    alias_restore(organization_id=ORG_A, holder_id=holder_id, alias_id=created["id"])

    assert [(n, action, fields) for n, action, fields, *_ in summary(created["id"])] == [
        (
            1,
            "create",
            ["accountId", "bankingDetails", "document", "ledgerId", "relatedParties", "type"],
        ),
        (2, "update", ["relatedParties[+]"]),
        (3, "update", ["relatedParties[-]"]),
        (4, "update", ["bankingDetails.iban"]),
        (5, "soft_delete", ["deletedAt"]),
        (6, "restore", ["deletedAt"]),
    ]
    bodies = [v.body for v in versions(created["id"])]
    assert bodies[:4] == [created, added, after_removal, banked.json()]
    assert [p["document"] for p in bodies[2]["relatedParties"]] == ["98765432100"]
    assert bodies[4]["deletedAt"] is not None and bodies[5]["deletedAt"] is None
    assert_same_as_the_audit(created["id"])
    assert summary(holder_id)[-1][0] == 1  # the holder itself did not change


def test_a_token_is_the_actor_of_its_versions(api, settings):
    settings.PLUGIN_AUTH_ENABLED = True
    token = ApiToken(name="integration-x", organizations=[str(ORG_A)], permissions=["holders:post"])
    secret = issue_token(token)
    token.save()
    response = api.post("/v1/holders", holder_payload(), HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 201, response.content
    [version] = versions(response.json()["id"])
    assert (version.actor_type, version.actor) == ("token", "integration-x")


def test_a_patch_that_changes_nothing_writes_no_version(api):
    holder_id = api.post("/v1/holders", holder_payload(externalId="SAME")).json()["id"]

    response = api.patch(f"/v1/holders/{holder_id}", {"externalId": "SAME"})

    assert response.status_code == 200 and response["ETag"] == '"1"'
    assert summary(holder_id)[-1][:2] == (1, "create")


# --- The admin ------------------------------------------------------------------------------------


def test_admin_edits_soft_delete_and_restore_write_versions_as_the_staff_user(admin_client, api):
    holder_id = api.post("/v1/holders", holder_payload(name=NAME)).json()["id"]
    holder = Holder.objects.get(id=holder_id)
    data = form_data(admin_client.get(change_url(holder)))
    data["externalId"] = "EXT-ADMIN"
    assert admin_client.post(change_url(holder), data).status_code == 302
    assert (
        admin_client.post(reverse("admin:holders_holder_soft_delete", args=[holder_id])).status_code
        == 302
    )
    assert (
        admin_client.post(reverse("admin:holders_holder_restore", args=[holder_id])).status_code
        == 302
    )

    assert summary(holder_id)[1:] == [
        (2, "update", ["externalId"], "staff", "admin"),
        (3, "soft_delete", ["deletedAt"], "staff", "admin"),
        (4, "restore", ["deletedAt"], "staff", "admin"),
    ]
    assert versions(holder_id)[1].body == {
        **versions(holder_id)[0].body,
        "externalId": "EXT-ADMIN",
        "updatedAt": versions(holder_id)[1].body["updatedAt"],
    }
    assert versions(holder_id)[-1].body == api.get(f"/v1/holders/{holder_id}").json()
    assert_same_as_the_audit(holder_id)


def test_admin_related_party_add_and_remove_is_one_version(admin_client, api):
    holder_id = api.post("/v1/holders", holder_payload()).json()["id"]
    created = api.post(f"/v1/holders/{holder_id}/aliases", alias_payload(relatedParties=[PARTY]))
    alias = AliasAccount.objects.get(id=created.json()["id"])
    response = admin_client.get(alias_change_url(alias))
    data = form_data(response)
    existing, new = [f.formset.prefix for f in response.context["inline_admin_formsets"]]
    data.update(
        {
            f"{new}-0-document": "98765432100",
            f"{new}-0-name": "New Party",
            f"{new}-0-role": "RESPONSIBLE_PARTY",
            f"{new}-0-startDate": "2024-02-03",
            f"{existing}-0-DELETE": "on",
        }
    )
    assert admin_client.post(alias_change_url(alias), data).status_code == 302

    assert summary(alias.id)[1:] == [
        (2, "update", ["relatedParties[+]", "relatedParties[-]"], "staff", "admin"),
    ]
    parties = versions(alias.id)[1].body["relatedParties"]
    assert [(p["document"], p["name"]) for p in parties] == [("98765432100", "New Party")]


def test_viewing_a_document_in_the_admin_writes_no_version(admin_client, api):
    holder_id = api.post("/v1/holders", holder_payload()).json()["id"]
    url = reverse("admin:holders_holder_document", args=[holder_id])

    assert admin_client.post(url).status_code == 200

    assert AuditEntry.objects.filter(object_id=holder_id, action="view_document").exists()
    assert summary(holder_id)[-1][:2] == (1, "create")


# --- The services (commands, seed data) and the kernel's guard ------------------------------------


def test_service_writes_are_versioned_with_the_commands_actor(db):
    from holders.services import holder_create

    with audit.acting_as(audit.Actor("command", "seed_demo")):
        holder = holder_create(organization_id=ORG_A, data=holder_payload())
        holder_update(organization_id=ORG_A, holder_id=holder.id, patch={"externalId": "E"})

    assert [(n, a, actor) for n, a, _f, _t, actor in summary(holder.id)] == [
        (1, "create", "seed_demo"),
        (2, "update", "seed_demo"),
    ]


def test_a_change_without_a_body_is_refused_and_writes_nothing(api):
    holder_id = api.post("/v1/holders", holder_payload()).json()["id"]
    holder = Holder.objects.get(id=holder_id)
    audit_entries = AuditEntry.objects.count()

    with pytest.raises(TypeError, match="writes a version"):
        lifecycle.record(holder, AuditEntry.Action.UPDATE, ["externalId"])

    assert AuditEntry.objects.count() == audit_entries
    assert len(versions(holder_id)) == 1


def test_a_retention_purge_erases_the_versions_with_the_records(api):
    holder_id = api.post("/v1/holders", holder_payload()).json()["id"]
    alias_id = api.post(f"/v1/holders/{holder_id}/aliases", alias_payload()).json()["id"]
    alias_soft_delete(organization_id=ORG_A, holder_id=holder_id, alias_id=alias_id)
    api.delete(f"/v1/holders/{holder_id}")
    kept = api.post("/v1/holders", holder_payload()).json()["id"]

    lifecycle.run_purge(
        lifecycle.retention_purge(timezone.now() + dt.timedelta(seconds=1)), batch_size=10
    )

    assert versions(holder_id) == [] and versions(alias_id) == []
    assert len(versions(kept)) == 1


# --- What the store holds -------------------------------------------------------------------------


def _text(value) -> str:
    """A raw column value as text: bytes as hex (the encrypted body), anything else as str."""
    return bytes(value).hex() if isinstance(value, bytes | memoryview) else str(value)


def test_the_version_store_holds_no_personal_value_and_no_search_hash(api):
    email = "joana.versionada@example.com"
    holder_id = api.post(
        "/v1/holders",
        holder_payload(name=NAME, document=DOCUMENT, contact={"primaryEmail": email}),
    ).json()["id"]
    api.patch(f"/v1/holders/{holder_id}", {"naturalPerson": {"motherName": "Mae Versionada"}})
    holder = Holder.objects.get(id=holder_id)
    table = connection.ops.quote_name(RecordVersion._meta.db_table)

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table}")
        raw = json.dumps(cursor.fetchall(), default=_text).lower()

    assert holder_id.replace("-", "") in raw.replace("-", "")  # the rows are there
    for value in (NAME, DOCUMENT, email, "Mae Versionada", "versionada"):
        assert value.lower() not in raw
        assert value.lower().encode().hex() not in raw  # not even as bytes
    for digest in (holder.document_hash, holder.email_hash):
        assert digest.lower() not in raw
    # Opened with the keys, the body is the holder's API body.
    assert versions(holder_id)[-1].body["naturalPerson"] == {"motherName": "Mae Versionada"}


# --- The bulk import (deliverable 8) --------------------------------------------------------------


def run_import(tmp_path, bodies: list[dict]) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(b) + "\n" for b in bodies), encoding="utf-8")
    call_command(
        "import_holders",
        "--organization",
        str(ORG_A),
        str(path),
        "--workers",
        "0",
        stdout=StringIO(),
        stderr=StringIO(),
    )


def test_the_import_writes_version_1_of_every_record_it_creates(tmp_path, api):
    """Through the same rows as the API (`*_creation_rows`): version 1, its body what a GET
    answers, named after the command; an alias added under a holder that exists already (a
    resumed import) gets its own version 1 and the holder none."""
    party_alias = alias_payload(relatedParties=[PARTY])
    existing = api.post("/v1/holders", holder_payload(document="11144477735")).json()
    run_import(
        tmp_path,
        [
            {**holder_payload(name=NAME, document=DOCUMENT), "aliases": [party_alias]},
            {**holder_payload(document="11144477735"), "aliases": [alias_payload()]},
        ],
    )

    holder = Holder.objects.exclude(id=existing["id"]).get()
    aliases = {a.holder_id: a for a in AliasAccount.objects.all()}
    for record_id, path in (
        (holder.id, f"/v1/holders/{holder.id}"),
        (aliases[holder.id].id, f"/v1/holders/{holder.id}/aliases/{aliases[holder.id].id}"),
        (
            aliases[uuid.UUID(existing["id"])].id,
            f"/v1/holders/{existing['id']}/aliases/{aliases[uuid.UUID(existing['id'])].id}",
        ),
    ):
        [version] = versions(record_id)
        assert (version.number, version.action) == (1, "create")
        assert (version.actor_type, version.actor) == ("command", "import_holders")
        assert version.body == api.get(path).json()
    assert len(versions(existing["id"])) == 1  # its API create only
    assert_same_as_the_audit(holder.id)
