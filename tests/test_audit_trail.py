"""The audit trail shared by the API and the commands: who, when, which record, which action,
which fields changed - never a personal value; an erasure leaves one entry and nothing else."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.forms.models import model_to_dict

from aliases.models import AliasAccount
from crm.access.auth import issue_token
from crm.lifecycle.audit import Actor, acting_as
from crm.models import ApiToken, AuditEntry
from holders.models import Holder
from holders.services import holder_restore
from tests.conftest import ORG_A
from tests.factories import alias_payload

pytestmark = pytest.mark.django_db

NAME = "Maria Auditada Souza"
DOCUMENT = "52998224725"
EMAIL = "maria.auditada@example.com"
ACCOUNT = "98765-4"
REQUEST_ID = "req-audit-0001"


def trail(object_id) -> list[tuple]:
    entries = AuditEntry.objects.filter(object_id=object_id).order_by("created_at", "id")
    return [(e.action, e.actor_type, e.actor, e.changed_fields) for e in entries]


def unredacted_trail(object_id) -> list[tuple]:
    """The trail but for entries an erasure cleared to their frame."""
    entries = AuditEntry.objects.filter(object_id=object_id, redacted=False)
    return [(e.action, e.actor_type, e.actor, e.changed_fields) for e in entries]


def assert_no_personal_values() -> None:
    dump = json.dumps([model_to_dict(e) for e in AuditEntry.objects.all()], default=str)
    for value in (NAME, "Auditada", DOCUMENT, "529.982.247-25", EMAIL, ACCOUNT):
        assert value not in dump


def create_holder(api) -> str:
    response = api.post(
        "/v1/holders",
        {
            "type": "NATURAL_PERSON",
            "name": NAME,
            "document": DOCUMENT,
            "contact": {"primaryEmail": EMAIL},
        },
        HTTP_X_REQUEST_ID=REQUEST_ID,
    )
    assert response.status_code == 201
    return response.json()["id"]


def test_audit_api_holder_lifecycle_records_actions_and_field_names(api):
    holder_id = create_holder(api)
    assert api.patch(f"/v1/holders/{holder_id}", {"name": "Maria S."}).status_code == 200
    assert (
        api.patch(
            f"/v1/holders/{holder_id}", {"contact": {"mobilePhone": "+5511988887777"}}
        ).status_code
        == 200
    )
    assert api.delete(f"/v1/holders/{holder_id}").status_code == 204

    assert trail(holder_id) == [
        ("create", "api", "anonymous", ["contact", "document", "name", "type"]),
        ("update", "api", "anonymous", ["name"]),
        ("update", "api", "anonymous", ["contact.mobilePhone"]),
        ("soft_delete", "api", "anonymous", ["deletedAt"]),
    ]
    created = AuditEntry.objects.get(object_id=holder_id, action="create")
    assert (created.object_type, str(created.organization_id)) == ("holder", str(ORG_A))
    assert created.request_id == REQUEST_ID
    assert created.created_at is not None
    assert_no_personal_values()


def test_audit_api_hard_delete_leaves_one_erasure_entry_per_record(api):
    holder_id = create_holder(api)
    alias = api.post(f"/v1/holders/{holder_id}/aliases", alias_payload()).json()
    api.delete(f"/v1/holders/{holder_id}/aliases/{alias['id']}")

    assert api.delete(f"/v1/holders/{holder_id}?hard_delete=true").status_code == 204

    # The earlier entries stay, cleared of their body (the chain keeps verifying), and one
    # hard_delete entry per erased record says that it was erased.
    assert trail(holder_id) == [
        ("create", "api", "anonymous", []),
        ("hard_delete", "api", "anonymous", []),
    ]
    assert trail(alias["id"]) == [
        ("create", "api", "anonymous", []),
        ("soft_delete", "api", "anonymous", []),
        ("hard_delete", "api", "anonymous", []),
    ]
    erased = AuditEntry.objects.filter(object_id__in=[holder_id, alias["id"]])
    assert {e.redacted for e in erased if e.action != "hard_delete"} == {True}
    assert not Holder.all_objects.filter(pk=holder_id).exists()


def test_audit_api_alias_lifecycle(api):
    holder_id = create_holder(api)
    payload = alias_payload(bankingDetails={"branch": "0001", "account": ACCOUNT})
    alias_id = api.post(f"/v1/holders/{holder_id}/aliases", payload).json()["id"]
    api.patch(f"/v1/holders/{holder_id}/aliases/{alias_id}", {"metadata": {"tier": "gold"}})
    api.delete(f"/v1/holders/{holder_id}/aliases/{alias_id}")

    actions = [(action, kind) for action, kind, _, _ in trail(alias_id)]
    assert actions == [("create", "api"), ("update", "api"), ("soft_delete", "api")]
    assert "bankingDetails" in trail(alias_id)[0][3]
    assert trail(alias_id)[1][3] == ["metadata"]
    assert_no_personal_values()

    api.delete(f"/v1/holders/{holder_id}/aliases/{alias_id}?hard_delete=true")
    assert trail(alias_id) == [
        ("create", "api", "anonymous", []),
        ("update", "api", "anonymous", []),
        ("soft_delete", "api", "anonymous", []),
        ("hard_delete", "api", "anonymous", []),
    ]


def test_audit_api_names_the_token(api, settings):
    settings.PLUGIN_AUTH_ENABLED = True
    token = ApiToken(
        name="onboarding-flow",
        organizations=[str(ORG_A)],
        permissions=["holders:post", "holders:delete"],
    )
    raw = issue_token(token)
    token.save()
    api.credentials(HTTP_X_ORGANIZATION_ID=str(ORG_A), HTTP_AUTHORIZATION=f"Bearer {raw}")

    holder_id = create_holder(api)
    api.delete(f"/v1/holders/{holder_id}")

    assert [(a, kind, who) for a, kind, who, _ in trail(holder_id)] == [
        ("create", "token", "onboarding-flow"),
        ("soft_delete", "token", "onboarding-flow"),
    ]
    assert raw not in json.dumps([model_to_dict(e) for e in AuditEntry.objects.all()], default=str)


def test_audit_restore_names_the_staff_user(api):
    holder_id = create_holder(api)
    api.delete(f"/v1/holders/{holder_id}")

    with acting_as(Actor("staff", "back-office-ana")):
        holder_restore(organization_id=ORG_A, holder_id=holder_id)

    assert trail(holder_id)[-1] == ("restore", "staff", "back-office-ana", ["deletedAt"])


def test_audit_hard_delete_command_is_the_actor_and_erases_history(api):
    holder_id = create_holder(api)
    alias_id = api.post(f"/v1/holders/{holder_id}/aliases", alias_payload()).json()["id"]
    assert len(trail(holder_id)) == 1

    call_command("hard_delete", "holders", holder_id, "--yes", stdout=StringIO())

    # What is left beyond the cleared frames: that the command erased them.
    assert unredacted_trail(holder_id) == [("hard_delete", "command", "hard_delete", [])]
    assert unredacted_trail(alias_id) == [("hard_delete", "command", "hard_delete", [])]
    assert not AliasAccount.all_objects.filter(pk=alias_id).exists()
    assert_no_personal_values()


def test_audit_hard_delete_dry_run_records_nothing(api):
    holder_id = create_holder(api)

    call_command("hard_delete", "holders", holder_id, stdout=StringIO())

    assert [action for action, *_ in trail(holder_id)] == ["create"]


def test_audit_rotation_command_is_the_actor(api, settings):
    create_holder(api)
    settings.LCRYPTO_PREVIOUS_ENCRYPT_SECRET_KEYS = [settings.LCRYPTO_ENCRYPT_SECRET_KEY]
    settings.LCRYPTO_ENCRYPT_SECRET_KEY = "d4" * 32

    call_command("rotate_encryption_keys", "--encryption", stdout=StringIO())

    entry = AuditEntry.objects.get(action="rotate_keys", object_type="holders.holder")
    assert (entry.actor_type, entry.actor, entry.object_id, entry.organization_id) == (
        "command",
        "rotate_encryption_keys",
        None,
        None,
    )
    assert entry.changed_fields == ["contact", "document", "name"]
    assert_no_personal_values()
