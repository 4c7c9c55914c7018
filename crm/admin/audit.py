"""The audit trail in the admin: read-only, field names only, each entry linked to its
record while the record exists."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from crm import lifecycle
from crm.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Who did what to which object, with field names only; nobody can add, edit or delete
    an entry here."""

    list_display = (
        "created_at",
        "actor_type",
        "actor",
        "action",
        "object_type",
        "record_link",
        "changed_field_names",
        "reason",
        "organization_id",
    )
    list_filter = ("action", "object_type", "actor_type")
    search_fields = ("=object_id", "=actor", "=request_id", "=organization_id")
    search_help_text = "Exact object id, actor, request id or organization id."
    list_per_page = 50
    show_full_result_count = False
    date_hierarchy = "created_at"

    @admin.display(description="changed fields")
    def changed_field_names(self, entry: AuditEntry) -> str:
        return ", ".join(entry.changed_fields or [])

    @admin.display(description="record")
    def record_link(self, entry: AuditEntry):
        """A link to the record's page while it exists. An erasure removes every entry of the
        record but its `hard_delete` one, so an entry of any other action names a record that
        still exists (no query needed to know)."""
        if entry.object_id is None:
            return "—"
        url = record_url(entry)
        if url is None:
            return str(entry.object_id)
        return format_html('<a href="{}">{}</a>', url, entry.object_id)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


def record_url(entry: AuditEntry) -> str | None:
    """The admin page of the entry's record, or None once it was erased (or has no page)."""
    if entry.action == AuditEntry.Action.HARD_DELETE or entry.object_id is None:
        return None
    if entry.object_type not in {kind.name for kind in lifecycle.kinds()}:
        return None
    model = lifecycle.kind(entry.object_type).model
    if not admin.site.is_registered(model):
        return None
    opts = model._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[entry.object_id])
