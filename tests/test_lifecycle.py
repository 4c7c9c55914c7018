"""The lifecycle core (crm.lifecycle) on its own: erasure plans, erase hooks, unique saves.
The API, admin and command tests cover the same core through their own doors."""

import copy
import uuid

import pytest
from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import transaction

from aliases.models import AliasAccount, RelatedParty
from aliases.services import alias_soft_delete
from crm import lifecycle
from crm.api.errors import CRMError
from crm.models import AuditEntry, IdempotencyRecord
from holders.models import Holder, HolderNameToken
from tests.conftest import ORG_A, ORG_B
from tests.factories import AliasFactory, HolderFactory

pytestmark = pytest.mark.django_db

PARTY = {"document": "1", "name": "N", "role": "PRIMARY_HOLDER", "startDate": "2024-01-01"}


def test_registry_knows_holders_then_aliases():
    assert [kind.name for kind in lifecycle.kinds()] == ["holder", "alias"]
    assert lifecycle.kind_of(AliasAccount).parent == "holder"
    assert [child.name for child in lifecycle.children(lifecycle.kind("holder"))] == ["alias"]


def test_plan_lists_a_holder_its_aliases_and_their_parties_without_personal_data():
    holder = HolderFactory(document="12345678900")
    live = AliasFactory(holder=holder, accountId="acc-1", relatedParties=[PARTY])
    gone = AliasFactory(holder=holder, accountId="acc-2")
    alias_soft_delete(organization_id=ORG_A, holder_id=holder.id, alias_id=gone.id)

    plan = lifecycle.plan_erasure("holder", [holder.id])

    rows = [(r.kind, r.id, r.depth, r.state) for r in plan.records]
    party_id = RelatedParty.objects.get(alias=live).id
    assert rows == [
        ("holder", holder.id, 0, "live"),
        ("alias", live.id, 1, "live"),
        ("Related party", party_id, 2, "live"),
        ("alias", gone.id, 1, "deleted"),
    ]
    assert plan.counts() == {"holder": 1, "alias": 2}
    assert plan.records[1].details == {"account_id": "acc-1", "ledger_id": live.ledger_id}
    assert plan.records[2].details == {"role": "PRIMARY_HOLDER"}
    assert "12345678900" not in repr(plan)


def test_plan_refuses_unknown_ids_and_other_organizations():
    holder = HolderFactory(organization_id=ORG_B)
    unknown = uuid.uuid4()
    with pytest.raises(lifecycle.ErasureError, match=str(unknown)):
        lifecycle.plan_erasure("holder", [holder.id, unknown])
    with pytest.raises(lifecycle.ErasureError, match=f"in organization {ORG_A}"):
        lifecycle.plan_erasure("holder", [holder.id], organization_id=ORG_A)


def test_erase_removes_rows_parts_admin_log_and_history_and_announces_each_kind():
    holder = HolderFactory()
    alias = AliasFactory(holder=holder, relatedParties=[PARTY])
    other = HolderFactory()
    for record in (holder, alias, other):
        LogEntry.objects.create(
            content_type=ContentType.objects.get_for_model(type(record)),
            object_id=str(record.id),
            object_repr=str(record),
            action_flag=ADDITION,
            user_id=_staff_user_id(),
        )
    replays = [
        IdempotencyRecord.objects.create(
            organization_id=record.organization_id,
            key_hash=f"{n:064x}",
            fingerprint="f" * 64,
            object_kind=kind,
            object_id=record.id,
        )
        for n, (kind, record) in enumerate(
            [("holder", holder), ("alias", alias), ("holder", other)]
        )
    ]
    calls = []

    def announce(kind, ids):  # called while the kind's rows are still there
        calls.append((kind.name, ids, kind.model.all_objects.filter(id__in=ids).count()))

    erased = lifecycle.erase(lifecycle.plan_erasure("holder", [holder.id]), announce=announce)

    assert erased == {"holder": 1, "alias": 1}
    assert not Holder.all_objects.filter(id=holder.id).exists()
    assert not AliasAccount.all_objects.filter(id=alias.id).exists()
    assert not HolderNameToken.objects.filter(holder_id=holder.id).exists()
    assert not RelatedParty.objects.filter(alias_id=alias.id).exists()
    assert list(LogEntry.objects.values_list("object_id", flat=True)) == [str(other.id)]
    history = list(AuditEntry.objects.filter(object_id__in=[holder.id, alias.id]))
    erasures = sorted((e.object_type, e.action) for e in history if e.action == "hard_delete")
    assert erasures == [("alias", "hard_delete"), ("holder", "hard_delete")]
    # The earlier entries keep their frame (who, what, when) and lose their body, so the hash
    # chain still verifies (crm.lifecycle.chain.redact).
    earlier = [e for e in history if e.action != "hard_delete"]
    assert {(e.object_type, e.action) for e in earlier} >= {
        ("holder", "create"),
        ("alias", "create"),
    }
    assert all(e.redacted for e in earlier)
    assert {(tuple(e.changed_fields), e.request_id, e.reason, str(e.details)) for e in earlier} == {
        ((), "", "", "{}")
    }
    assert calls == [("alias", [alias.id], 1), ("holder", [holder.id], 1)]
    # The stored answers about the erased records go with them; the other holder's stay.
    assert list(IdempotencyRecord.objects.values_list("pk", flat=True)) == [replays[2].pk]


def test_erase_of_a_record_gone_meanwhile_erases_nothing():
    first, second = HolderFactory(), HolderFactory()
    plan = lifecycle.plan_erasure("holder", [first.id, second.id])
    lifecycle.erase(lifecycle.plan_erasure("holder", [second.id]))
    with pytest.raises(lifecycle.ErasureError, match="nothing was erased"):
        lifecycle.erase(plan)
    assert Holder.all_objects.filter(id=first.id).exists()


def test_save_unique_maps_the_named_constraint_to_its_409():
    holder = HolderFactory(document="11122233344")
    twin = Holder(
        organization_id=ORG_A,
        type=holder.type,
        name="Twin",
        document="11122233344",
        document_hash=holder.document_hash,
    )
    # As in the services: the 409 leaves the caller's atomic block (no savepoint of its own).
    with pytest.raises(CRMError) as excinfo, transaction.atomic():
        lifecycle.save_unique(twin, force_insert=True)
    assert excinfo.value.code == "CRM-0010"
    assert Holder.all_objects.count() == 1


def _staff_user_id() -> int:
    from django.contrib.auth.models import User

    return User.objects.get_or_create(username="lifecycle-staff")[0].id


def test_stored_values_are_a_deep_copy_sharing_nothing_a_change_could_alter():
    holder = HolderFactory(
        organization_id=ORG_A,
        metadata={"tags": ["a", {"b": 1}], "segment": "retail"},
    )
    holder.addresses = {"primary": {"line1": "Rua A", "lines": ["x"]}}
    stored = lifecycle.stored_values(holder)
    assert stored == copy.deepcopy(stored)
    assert stored["metadata"] == holder.metadata and stored["addresses"] == holder.addresses
    # A change made in place to the instance leaves the copy as it was.
    holder.metadata["tags"][1]["b"] = 2
    holder.metadata["tags"].append("c")
    holder.addresses["primary"]["lines"].append("y")
    assert stored["metadata"] == {"tags": ["a", {"b": 1}], "segment": "retail"}
    assert stored["addresses"] == {"primary": {"line1": "Rua A", "lines": ["x"]}}
    assert stored["id"] == holder.id and stored["version"] == holder.version
