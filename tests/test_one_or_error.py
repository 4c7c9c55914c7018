"""`crm.models.one_or_error`: the by-id read of every GET, PATCH and DELETE, compiled once per
shape and connection. Each parameter must take the id it stands for, whatever the values
(an id equal to another is the attacker's first try), and the scoping must hold."""

import uuid

import pytest
from django.db import transaction
from django.db.transaction import TransactionManagementError

from aliases.models import AliasAccount
from crm.api.errors import CRMError
from crm.models import one_or_error
from holders.models import Holder
from holders.services import holder_soft_delete
from tests.conftest import ORG_A, ORG_B
from tests.factories import AliasFactory, HolderFactory


def read_alias(alias, *, organization_id=ORG_A, holder_id=None, alias_id=None):
    return one_or_error(
        AliasAccount,
        "CRM-0008",
        organization_id=organization_id,
        holder_id=holder_id or alias.holder_id,
        id=alias_id or alias.id,
    )


def test_reads_the_record_with_its_decrypted_values(db):
    holder = HolderFactory(name="Maria Compilada", document="52998224725")
    for _ in range(2):  # the second read uses the compiled statement
        found = one_or_error(Holder, "CRM-0006", organization_id=ORG_A, id=holder.id)
        assert (found.id, found.name, found.document) == (
            holder.id,
            "Maria Compilada",
            "52998224725",
        )
        assert found._state.adding is False


def test_each_id_is_matched_to_its_own_column(db):
    alias = AliasFactory()
    other_holder = HolderFactory()
    assert read_alias(alias).id == alias.id
    with pytest.raises(CRMError) as wrong_holder:
        read_alias(alias, holder_id=other_holder.id)
    assert wrong_holder.value.code == "CRM-0008"
    with pytest.raises(CRMError):  # the ids swapped
        read_alias(alias, holder_id=alias.id, alias_id=alias.holder_id)
    with pytest.raises(CRMError):  # every id the same value
        read_alias(alias, organization_id=alias.id, holder_id=alias.id, alias_id=alias.id)
    assert read_alias(alias).id == alias.id


def test_another_organization_and_an_unknown_id_are_not_found(db):
    holder = HolderFactory()
    for organization_id, holder_id in ((ORG_B, holder.id), (ORG_A, uuid.uuid4())):
        with pytest.raises(CRMError) as missing:
            one_or_error(Holder, "CRM-0006", organization_id=organization_id, id=holder_id)
        assert missing.value.code == "CRM-0006"


def test_soft_deleted_only_with_include_deleted(db):
    holder = HolderFactory()
    holder_soft_delete(organization_id=ORG_A, holder_id=holder.id)
    with pytest.raises(CRMError):
        one_or_error(Holder, "CRM-0006", organization_id=ORG_A, id=holder.id)
    found = one_or_error(
        Holder, "CRM-0006", include_deleted=True, organization_id=ORG_A, id=holder.id
    )
    assert found.deleted_at is not None


def test_columns_defer_the_others(db):
    holder = HolderFactory()
    with transaction.atomic():
        found = one_or_error(
            Holder,
            "CRM-0006",
            for_update=True,
            columns=("id", "organization_id"),
            organization_id=ORG_A,
            id=holder.id,
        )
    assert found.get_deferred_fields() >= {"name", "document"}


def test_for_update_outside_a_transaction_is_refused(transactional_db):
    holder = HolderFactory()
    with pytest.raises(TransactionManagementError):
        one_or_error(Holder, "CRM-0006", for_update=True, organization_id=ORG_A, id=holder.id)
