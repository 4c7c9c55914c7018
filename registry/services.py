"""A customer as one operation: a holder soft-deleted or restored together with its alias
accounts (docs/admin.md, *A holder*).

The API keeps its rules: `DELETE /holders/{id}` is refused with CRM-0017 while the holder has
live aliases, and restoring a holder restores the holder only. Staff deleting a customer mean
the holder with its accounts, so the back-office calls these instead, after a confirmation page
that lists the accounts (`customer_soft_delete_accounts`, `customer_restore_accounts`).

Each step is the kind's own service (`aliases.services.alias_soft_delete`,
`holders.services.holder_soft_delete`, their restores), so every record gets its audit entry,
its version and its change event as on any other path; all of them in one transaction, and
every audit entry marked as part of one action (`crm.lifecycle.audit.as_one_action`). A step
refused (an account added since the page was shown, so CRM-0017 for the holder; an account id
taken meanwhile, CRM-0013) rolls the whole operation back.
"""

import uuid
from collections.abc import Collection

from django.db import transaction

from aliases import services as alias_services
from aliases.models import AliasAccount
from crm.lifecycle.audit import as_one_action
from crm.models import AuditEntry
from holders import services as holder_services
from holders.models import Holder

SOFT_DELETE = "customer_soft_delete"
RESTORE = "customer_restore"


def customer_soft_delete_accounts(holder: Holder) -> list[AliasAccount]:
    """The accounts a soft delete of `holder` as a customer takes with it: its live ones."""
    return list(AliasAccount.objects.filter(holder_id=holder.pk).order_by("id"))


def customer_restore_accounts(holder: Holder) -> tuple[list[AliasAccount], set[uuid.UUID]]:
    """The holder's soft-deleted accounts a restore may bring back, and among them those that
    were soft-deleted together with it (its latest soft delete as a customer, read from the
    audit trail): the ones restored unless staff choose otherwise."""
    deleted = list(
        AliasAccount.all_objects.filter(holder_id=holder.pk, deleted_at__isnull=False).order_by(
            "id"
        )
    )
    entry = (
        AuditEntry.objects.filter(
            object_type=holder_services.OBJECT_TYPE,
            object_id=holder.pk,
            action=AuditEntry.Action.SOFT_DELETE,
        )
        .order_by("-created_at", "-id")
        .first()
    )
    action_id = (entry.details or {}).get("actionId") if entry else None
    if not action_id or not deleted:
        return deleted, set()
    together = set(
        AuditEntry.objects.filter(
            object_type=alias_services.OBJECT_TYPE,
            object_id__in=[account.pk for account in deleted],
            action=AuditEntry.Action.SOFT_DELETE,
            details__actionId=action_id,
        ).values_list("object_id", flat=True)
    )
    return deleted, together


@transaction.atomic
def customer_soft_delete(
    *, organization_id: uuid.UUID, holder_id: uuid.UUID, alias_ids: Collection[uuid.UUID]
) -> Holder:
    """Soft-delete the accounts `alias_ids` (the live accounts staff confirmed) and then the
    holder, as one audited action. CRM-0017 when the holder has a live account not in
    `alias_ids`; CRM-0008 when an account is not this holder's."""
    with as_one_action(SOFT_DELETE, object_type=holder_services.OBJECT_TYPE, object_id=holder_id):
        for alias_id in sorted(alias_ids):
            alias_services.alias_soft_delete(
                organization_id=organization_id, holder_id=holder_id, alias_id=alias_id
            )
        return holder_services.holder_soft_delete(
            organization_id=organization_id, holder_id=holder_id
        )


@transaction.atomic
def customer_restore(
    *, organization_id: uuid.UUID, holder_id: uuid.UUID, alias_ids: Collection[uuid.UUID]
) -> Holder:
    """Restore the holder and then its soft-deleted accounts `alias_ids`, as one audited
    action (CRM-0010 / CRM-0013 when a live record took the document / account id meanwhile;
    CRM-0008 when an account is not this holder's)."""
    with as_one_action(RESTORE, object_type=holder_services.OBJECT_TYPE, object_id=holder_id):
        holder = holder_services.holder_restore(
            organization_id=organization_id, holder_id=holder_id
        )
        for alias_id in sorted(alias_ids):
            alias_services.alias_restore(
                organization_id=organization_id, holder_id=holder_id, alias_id=alias_id
            )
        return holder
