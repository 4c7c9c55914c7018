"""The audit trail in the admin: read-only, field names only."""

from django.contrib import admin

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
        "object_id",
        "changed_field_names",
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

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
