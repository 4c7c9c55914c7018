"""The factories: calling one saves through the services; `.build()` writes nothing."""

import pytest

from aliases.models import AliasAccount, RelatedParty
from crm.crypto.search import search_hash
from crm.models import AuditEntry
from holders.models import DOCUMENT_FIELD, Holder, HolderNameToken
from tests.conftest import ORG_A, ORG_B
from tests.factories import AliasFactory, HolderFactory

pytestmark = pytest.mark.django_db


def _row_counts() -> dict[str, int]:
    return {
        "holders": Holder.all_objects.count(),
        "aliases": AliasAccount.all_objects.count(),
        "name tokens": HolderNameToken.objects.count(),
        "related parties": RelatedParty.objects.count(),
        "audit entries": AuditEntry.objects.count(),
    }


NOTHING = dict.fromkeys(
    ["holders", "aliases", "name tokens", "related parties", "audit entries"], 0
)


def test_holder_factory_build_returns_an_unsaved_holder(django_assert_num_queries):
    with django_assert_num_queries(0):
        holder = HolderFactory.build(organization_id=ORG_B, name="Maria Silva", type="LEGAL_PERSON")

    assert isinstance(holder, Holder)
    assert holder._state.adding is True
    assert (holder.organization_id, holder.type, holder.name) == (
        ORG_B,
        "LEGAL_PERSON",
        "Maria Silva",
    )
    assert holder.document_hash == search_hash(ORG_B, DOCUMENT_FIELD, holder.document)
    assert Holder.all_objects.count() == 0
    assert _row_counts() == NOTHING


def test_alias_factory_build_returns_an_unsaved_alias_under_an_unsaved_holder(
    django_assert_num_queries,
):
    with django_assert_num_queries(0):
        alias = AliasFactory.build(accountId="acc-1")

    assert isinstance(alias, AliasAccount)
    assert alias._state.adding is True
    assert alias.holder._state.adding is True
    assert (alias.organization_id, alias.account_id) == (ORG_A, "acc-1")
    assert (alias.type, alias.document) == (alias.holder.type, alias.holder.document)
    assert alias.banking_branch == alias.banking_details["branch"]
    assert alias.account is not None and alias.banking_account_hash is not None
    assert Holder.all_objects.count() == 0
    assert _row_counts() == NOTHING


def test_alias_factory_build_under_a_saved_holder_saves_nothing_more():
    holder = HolderFactory()
    audit_entries = AuditEntry.objects.count()

    alias = AliasFactory.build(holder=holder)

    assert alias._state.adding is True
    assert alias.holder_id == holder.id
    assert AliasAccount.all_objects.count() == 0
    assert AuditEntry.objects.count() == audit_entries


def test_factory_call_still_saves_through_the_services():
    alias = AliasFactory()

    assert alias._state.adding is False
    assert Holder.objects.filter(pk=alias.holder_id).exists()
    assert AliasAccount.objects.filter(pk=alias.pk).exists()
    assert set(AuditEntry.objects.values_list("object_type", flat=True)) == {"holder", "alias"}
