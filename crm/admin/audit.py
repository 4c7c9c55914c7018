"""The audit trail in the admin: read-only, field names only, each entry linked to its
record while the record exists, an export titled by what it exported ("Export of 1,234 alias
accounts (state Live; a search)", `entry_title`), and every column narrow enough for the list
to fit a 1,440 px screen (short ids with the full id in the tooltip, organization labels)."""

from django.contrib import admin
from django.utils import formats
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from crm import lifecycle
from crm.admin.lists import (
    ReadOnlyAdmin,
    choices_filter,
    organization_label,
    record_change_url,
    short_id,
)
from crm.admin.naming import record_names
from crm.admin.paging import PagedAdmin, PagedChangeList
from crm.ids import parse_uuid
from crm.models import AuditEntry, organization_labels


def object_types() -> list[tuple[str, str]]:
    return [(kind.name, kind.label) for kind in lifecycle.kinds()]


class ObjectTypeFilter(admin.SimpleListFilter):
    """The registry's kinds (known without reading the table)."""

    title = _("object type")
    parameter_name = "object_type"

    def lookups(self, request, model_admin):
        return object_types()

    def queryset(self, request, queryset):
        return queryset.filter(object_type=self.value()) if self.value() else queryset


@admin.register(AuditEntry)
class AuditEntryAdmin(PagedAdmin, ReadOnlyAdmin):
    """Who did what to which object, with field names only; nobody can add, edit or delete
    an entry here."""

    list_display = (
        "created_at",
        "who",
        "action",
        "object_type_label",
        "record_link",
        "changed_field_names",
        "reason",
        "organization",
    )
    # Fixed filter choices: Django's default for a field without choices (and a date
    # hierarchy) reads `SELECT DISTINCT` over the whole trail on every page.
    list_filter = (
        "action",
        ObjectTypeFilter,
        choices_filter("actor_type", _("actor type"), AuditEntry.ActorType.choices),
        ("created_at", admin.DateFieldListFilter),
    )
    search_fields = ("=object_id", "=actor", "=request_id", "=organization_id")
    search_help_text = _("Exact object id, actor, request id or organization id.")
    show_facets = admin.ShowFacets.NEVER

    def get_changelist(self, request, **kwargs):
        return AuditChangeList

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        """An entry's page is titled as the list names it (`entry_title`), not by `__str__`."""
        entry_id = parse_uuid(str(object_id or ""))
        entry = AuditEntry.objects.filter(pk=entry_id).first() if entry_id else None
        if entry is not None:
            name = record_names(entry.object_type, [entry.object_id]) if record_url(entry) else {}
            title = " · ".join(filter(None, [entry_title(entry), name.get(entry.object_id)]))
            extra_context = {"subtitle": title, **(extra_context or {})}
        return super().changeform_view(request, object_id, form_url, extra_context)

    @admin.display(description=_("organization"))
    def organization(self, entry: AuditEntry):
        if entry.organization_id is None:
            return "—"
        return organization_label(entry.organization_id, getattr(entry, "labels", None))

    @admin.display(description=_("who"), ordering="actor")
    def who(self, entry: AuditEntry) -> str:
        """The actor and its kind in one column ("staff: ana"), as the dashboard shows them:
        one column fewer keeps the trail within 1,440 px in Portuguese."""
        return f"{entry.actor_type_label}: {entry.actor}"

    @admin.display(description=_("object type"), ordering="object_type")
    def object_type_label(self, entry: AuditEntry) -> str:
        return kind_name(entry.object_type, 1)

    @admin.display(description=_("changed fields"))
    def changed_field_names(self, entry: AuditEntry) -> str:
        return ", ".join(entry.changed_fields or [])

    @admin.display(description=_("record"))
    def record_link(self, entry: AuditEntry):
        """A link to the record's page while it exists (its id shortened, in full in the
        tooltip); an export's title. An erasure removes every entry of the record but its
        `hard_delete` one, so an entry of any other action names a record that still exists
        (no query needed to know)."""
        if entry.action == AuditEntry.Action.EXPORT:
            return export_title(entry)
        if entry.object_id is None:
            return "—"
        url = record_url(entry)
        name = getattr(entry, "record_name", "")
        if url and name:
            return format_html('<a href="{}" title="{}">{}</a>', url, entry.object_id, name)
        return short_id(entry.object_id, url)


class AuditChangeList(PagedChangeList):
    """The page's organization labels in one query (the organization column), and the names of
    its records that still exist, as staff know them (`crm.admin.naming`; a query per kind)."""

    def get_results(self, request) -> None:
        super().get_results(request)
        labels = organization_labels(entry.organization_id for entry in self.result_list)
        named = [entry for entry in self.result_list if record_url(entry)]
        names = {}
        for object_type in {entry.object_type for entry in named}:
            ids = [entry.object_id for entry in named if entry.object_type == object_type]
            names.update(record_names(object_type, ids))
        for entry in self.result_list:
            entry.labels = labels
            entry.record_name = names.get(entry.object_id, "")


def entry_title(entry: AuditEntry) -> str:
    """An entry as staff read it: an export by what it exported (`export_title`), any other
    by its action, kind and record id ("Update holder 01a2…")."""
    if entry.action == AuditEntry.Action.EXPORT:
        return export_title(entry)
    words = [str(entry.get_action_display()), kind_name(entry.object_type, 1)]
    if entry.object_id is not None:
        words.append(str(entry.object_id))
    return " ".join(words)


def export_title(entry: AuditEntry) -> str:
    """ "Export of 1,234 alias accounts (state Live, type Natural person; a search; full
    documents)": the rows written, the filters (the organization has its own column), whether
    a search narrowed it, ticked rows, unmasked, cut off. Never a value: the entry holds none."""
    details = entry.details or {}
    rows = int(details.get("rows") or 0)
    title = gettext("Export of %(count)s %(kind)s") % {
        "count": formats.number_format(rows, force_grouping=True),
        "kind": kind_name(entry.object_type, rows),
    }
    filters = {  # sorted: PostgreSQL's jsonb keeps its own key order
        name: value
        for name, value in sorted((details.get("filters") or {}).items())
        if name != "organization" and value
    }
    notes = []
    if filters:
        notes.append(", ".join(filter_choice(entry.object_type, n, v) for n, v in filters.items()))
    if details.get("search"):
        notes.append(gettext("a search"))
    if details.get("selection") == "ticked":
        notes.append(gettext("ticked rows"))
    if details.get("unmasked"):
        notes.append(gettext("full documents"))
    if details.get("complete") is False:
        notes.append(gettext("cut off"))
    return f"{title} ({'; '.join(notes)})" if notes else title


def filter_choice(object_type: str, name: str, value: str) -> str:
    """A list filter's choice as the kind's list shows it, in the reader's language ("state
    Deleted", "type Natural person"): the filter's title and its choice's label, taken from
    the kind's admin (a field name there: the field's verbose name and choices); the parameter
    and value as stored when no filter of that name is found (an older entry's filter)."""
    try:
        model = lifecycle.kind(object_type).model
        model_admin = admin.site.get_model_admin(model)
    except LookupError:  # not a registry kind, or its admin is not registered
        return f"{name} {value}"
    for spec in model_admin.list_filter:
        if isinstance(spec, str) and spec == name:
            field = model._meta.get_field(name)
            title, labels = field.verbose_name, dict(field.flatchoices)
        elif isinstance(spec, type) and getattr(spec, "parameter_name", None) == name:
            # A SimpleListFilter of ours (state, choices_filter): fixed choices, which read
            # neither the request nor the filter's instance state.
            title, labels = spec.title, dict(spec.lookups(spec, None, model_admin))
        else:
            continue
        return f"{title} {labels.get(value, value)}"
    return f"{name} {value}"


def kind_name(object_type: str, count: int) -> str:
    """The record kind's verbose name ("alias account" / "alias accounts"), or the object type
    itself for what is not a registry kind (a key rotation, …)."""
    if object_type not in {kind.name for kind in lifecycle.kinds()}:
        return object_type
    opts = lifecycle.kind(object_type).model._meta
    return str(opts.verbose_name if count == 1 else opts.verbose_name_plural)


def record_url(entry: AuditEntry) -> str | None:
    """The admin page of the entry's record, or None once it was erased (or has no page)."""
    erased = entry.action == AuditEntry.Action.HARD_DELETE or entry.redacted
    if erased or entry.object_id is None:
        return None
    return record_change_url(entry.object_type, entry.object_id)
