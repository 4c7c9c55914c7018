"""Soft delete of one registry row, shared by the holder and alias services."""

from django.utils import timezone

from crm import audit
from crm.models import RegistryModel


def mark_soft_deleted(obj: RegistryModel, *, object_type: str) -> None:
    """Stamp `deleted_at` (and `updated_at`) on a locked live row and record it in the audit
    trail. The caller has already checked its own preconditions (e.g. CRM-0017)."""
    obj.deleted_at = obj.updated_at = timezone.now()
    obj.save(update_fields=["deleted_at", "updated_at"])
    audit.record(
        audit.AuditEntry.Action.SOFT_DELETE,
        object_type=object_type,
        object_id=obj.id,
        organization_id=obj.organization_id,
        changed_fields=["deletedAt"],
    )
