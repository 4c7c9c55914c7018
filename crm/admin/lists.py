"""List columns and filters shared by the registry admins. Nothing here decrypts more than
the page shows, and documents are masked."""

import uuid
from typing import Any

from django.contrib import admin
from django.db import connections, router
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from crm import lifecycle
from crm.admin.naming import short_text
from crm.crypto.masking import mask_document  # noqa: F401  (re-exported for the admins)
from crm.ids import parse_uuid
from crm.models import Organization, organization_labels


def short_id(value: Any, url: str | None = None):
    """A UUID shortened for list columns (`01a1fc3f…0879`); the full value in the tooltip.
    Never broken across lines (`crm-id`), where the column's other values may wrap."""
    text_value, short = str(value), short_text(value)
    if url:
        return format_html('<a href="{}" title="{}" class="crm-id">{}</a>', url, text_value, short)
    return format_html('<span title="{}" class="crm-id">{}</span>', text_value, short)


def organization_label(organization_id: uuid.UUID, labels: dict | None = None):
    """An organization as staff know it: its label (`crm.Organization`) with the id in the
    tooltip, or the short id when it has no label. `labels` (id -> label) saves the lookup
    when the caller has them (list pages load a page's labels in one query)."""
    if labels is None:
        labels = organization_labels([organization_id])
    label = labels.get(organization_id)
    if label is None:
        return short_id(organization_id)
    return format_html('<span title="{}">{}</span>', str(organization_id), label)


def state_badge(obj):
    """ "live" / "deleted" as a coloured badge."""
    state = "deleted" if obj.is_deleted else "live"
    label = _("deleted") if obj.is_deleted else _("live")
    return format_html('<span class="crm-state crm-state-{}">{}</span>', state, label)


class StateFilter(admin.SimpleListFilter):
    """Live / deleted / all; live unless chosen otherwise."""

    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("live", _("Live")), ("deleted", _("Deleted")), ("all", _("All"))]

    def choices(self, changelist):
        current = self.value() or "live"
        for lookup, title in self.lookup_choices:
            yield {
                "selected": current == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request, queryset):
        state = self.value() or "live"
        if state == "deleted":
            return queryset.deleted()
        if state == "all":
            return queryset
        return queryset.live()


def choices_filter(field_name: str, title: str, choices) -> type[admin.SimpleListFilter]:
    """A list filter over fixed `choices` (value, label). Django's filter for a field without
    model choices lists `SELECT DISTINCT field` - a read of the whole table on every page."""

    class ChoicesFilter(admin.SimpleListFilter):
        parameter_name = field_name

        def lookups(self, request, model_admin):
            return list(choices)

        def queryset(self, request, queryset):
            value = self.value()
            return queryset.filter(**{field_name: value}) if value else queryset

    ChoicesFilter.title = title
    return ChoicesFilter


class OrganizationFilter(admin.SimpleListFilter):
    """The organizations present in the table (`present_organizations`: one index probe each)."""

    title = _("organization")
    parameter_name = "organization"

    def lookups(self, request, model_admin):
        present = present_organizations(model_admin.model)
        labels = organization_labels(present)
        return [(str(org), labels.get(org) or str(org)) for org in present]

    def queryset(self, request, queryset):
        organization = selected_organization(request)
        if organization is not None:
            return queryset.for_organization(organization)
        return queryset


# More organizations than this in one table are not listed (nor searched without choosing one).
MAX_ORGANIZATIONS = 1000


def present_organizations(model) -> list[uuid.UUID]:
    """The organizations with rows in `model`'s table, in order, at most `MAX_ORGANIZATIONS`.

    A `SELECT DISTINCT organization_id` reads every row (seconds at a million holders). This
    is a loose index scan instead (`organizations_query`): one index probe per organization,
    whatever the table size. Read where the ORM would read the model (a replica when one is
    configured)."""
    connection = connections[router.db_for_read(model)]
    with connection.cursor() as cursor:
        cursor.execute(*organizations_query(model, connection))
        rows = cursor.fetchall()
    return sorted((uuid.UUID(str(org)) for (org,) in rows), key=str)


def organizations_query(model, connection) -> tuple[str, list]:
    """A recursive query that jumps from one organization to the next through the
    `(organization_id, id)` index (PostgreSQL and SQLite alike)."""
    table = connection.ops.quote_name(model._meta.db_table)
    column = connection.ops.quote_name(model._meta.get_field("organization_id").column)
    # Only quoted identifiers of our own model are interpolated; the bound is a parameter.
    sql = (
        f"WITH RECURSIVE present(org, n) AS ("  # noqa: S608
        f" SELECT (SELECT {column} FROM {table} ORDER BY {column} LIMIT 1), 1"
        f" UNION ALL"
        f" SELECT (SELECT {column} FROM {table} WHERE {column} > present.org"
        f" ORDER BY {column} LIMIT 1), n + 1"
        f" FROM present WHERE present.org IS NOT NULL AND n < %s"
        f") SELECT org FROM present WHERE org IS NOT NULL"
    )
    return sql, [MAX_ORGANIZATIONS]


def organization_choices(model) -> list[tuple[str, str]]:
    """The organizations a record of `model` may be added to, as (id, label) for a picker:
    every labelled one (`crm.Organization`) and every one with rows in the table (by its id
    when it has no label), labelled ones first by label."""
    labelled = list(Organization.objects.values_list("id", "label"))
    known = {organization for organization, _label in labelled}
    unlabelled = [org for org in present_organizations(model) if org not in known]
    return [(str(org), label) for org, label in labelled] + [
        (str(org), str(org)) for org in unlabelled
    ]


def selected_organization(request) -> uuid.UUID | None:
    return parse_uuid(request.GET.get(OrganizationFilter.parameter_name) or "")


def search_organizations(request, model) -> list[uuid.UUID]:
    """Search hashes include the organization: hash for the selected organization, or for
    every organization present in the table."""
    organization = selected_organization(request)
    return [organization] if organization is not None else present_organizations(model)


def record_change_url(kind_name: str, record_id: Any, site=admin.site) -> str | None:
    """The admin change page of a registry record (`kind_name` a lifecycle kind), or None
    when that kind has no page on `site`. Links from the audit trail and erasure plans."""
    if kind_name not in {kind.name for kind in lifecycle.kinds()}:
        return None
    model = lifecycle.kind(kind_name).model
    if not site.is_registered(model):
        return None
    opts = model._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[record_id])


class ReadOnlyAdmin(admin.ModelAdmin):
    """A list staff read and never write from the admin (the audit trail, the outbox): the
    services and the relay write those rows."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
