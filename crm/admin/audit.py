"""The audit trail in the admin: read-only, field names only."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from crm import lifecycle
from crm.admin.counting import EstimatedCountPaginator
from crm.admin.lists import choices_filter
from crm.models import AuditEntry

ACTOR_TYPES = ("staff", "token", "api", "command", "system")


def object_types() -> list[tuple[str, str]]:
    return [(kind.name, kind.name) for kind in lifecycle.kinds()]


class ObjectTypeFilter(admin.SimpleListFilter):
    """The registry's kinds (known without reading the table)."""

    title = _("object type")
    parameter_name = "object_type"

    def lookups(self, request, model_admin):
        return object_types()

    def queryset(self, request, queryset):
        return queryset.filter(object_type=self.value()) if self.value() else queryset


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
    # Fixed filter choices: Django's default for a field without choices (and a date
    # hierarchy) reads `SELECT DISTINCT` over the whole trail on every page.
    list_filter = (
        "action",
        ObjectTypeFilter,
        choices_filter("actor_type", _("actor type"), [(name, name) for name in ACTOR_TYPES]),
        ("created_at", admin.DateFieldListFilter),
    )
    search_fields = ("=object_id", "=actor", "=request_id", "=organization_id")
    search_help_text = _("Exact object id, actor, request id or organization id.")
    list_per_page = 50
    list_max_show_all = 50
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    paginator = EstimatedCountPaginator

    @admin.display(description=_("changed fields"))
    def changed_field_names(self, entry: AuditEntry) -> str:
        return ", ".join(entry.changed_fields or [])

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
