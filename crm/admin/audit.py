"""The audit trail in the admin: read-only, field names only, each entry linked to its
record while the record exists."""

from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from crm import lifecycle
from crm.admin.counting import EstimatedCountPaginator
from crm.admin.lists import ReadOnlyAdmin, choices_filter, record_change_url
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
class AuditEntryAdmin(ReadOnlyAdmin):
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


def record_url(entry: AuditEntry) -> str | None:
    """The admin page of the entry's record, or None once it was erased (or has no page)."""
    erased = entry.action == AuditEntry.Action.HARD_DELETE or entry.redacted
    if erased or entry.object_id is None:
        return None
    return record_change_url(entry.object_type, entry.object_id)
