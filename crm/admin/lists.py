"""List columns and filters shared by the registry admins. Nothing here decrypts more than
the page shows, and documents are masked."""

import uuid
from typing import Any

from django.contrib import admin
from django.db import connections, router
from django.utils.html import format_html

from crm.ids import parse_uuid
from crm.masking import mask_document  # noqa: F401  (re-exported for the admins)
from crm.models import organization_labels


def short_id(value: Any, url: str | None = None):
    """A UUID shortened for list columns (`01a1fc3f…0879`); the full value in the tooltip."""
    text_value = str(value)
    short = f"{text_value[:8]}…{text_value[-4:]}" if len(text_value) > 13 else text_value
    if url:
        return format_html('<a href="{}" title="{}">{}</a>', url, text_value, short)
    return format_html('<span title="{}">{}</span>', text_value, short)


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
    return format_html('<span class="crm-state crm-state-{}">{}</span>', state, state)


class StateFilter(admin.SimpleListFilter):
    """Live / deleted / all; live unless chosen otherwise."""

    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("live", "Live"), ("deleted", "Deleted"), ("all", "All")]

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


class OrganizationFilter(admin.SimpleListFilter):
    """The organizations present in the table (one `DISTINCT` query)."""

    title = "organization"
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


# The distinct organization ids of a table by a "loose index scan": one index seek per
# organization on the (organization_id, ...) indexes, instead of a DISTINCT that reads every
# row (seconds at a million rows). The first seek is MIN() on SQLite (its min optimisation);
# PostgreSQL before 16 has no MIN(uuid), so there it is the first row in index order.
_DISTINCT_ORGANIZATIONS = """
WITH RECURSIVE organizations(id) AS (
    SELECT ({first})
    UNION ALL
    SELECT (
        SELECT organization_id FROM {table} WHERE organization_id > organizations.id
        ORDER BY organization_id LIMIT 1
    )
    FROM organizations WHERE organizations.id IS NOT NULL
)
SELECT id FROM organizations WHERE id IS NOT NULL
"""
_FIRST = {
    "sqlite": "SELECT MIN(organization_id) FROM {table}",
    "default": "SELECT organization_id FROM {table} ORDER BY organization_id LIMIT 1",
}


def organizations_sql(model) -> str:
    connection = connections[router.db_for_read(model)]
    table = connection.ops.quote_name(model._meta.db_table)
    first = _FIRST.get(connection.vendor, _FIRST["default"]).format(table=table)
    return _DISTINCT_ORGANIZATIONS.format(table=table, first=first)


def present_organizations(model) -> list[uuid.UUID]:
    """The organizations that have rows in `model`'s table (live or deleted), in id order
    (read where the ORM would read the model: a replica when one is configured)."""
    with connections[router.db_for_read(model)].cursor() as cursor:
        cursor.execute(organizations_sql(model))
        found = [value if isinstance(value, uuid.UUID) else uuid.UUID(value) for (value,) in cursor]
    return sorted(found, key=str)


def selected_organization(request) -> uuid.UUID | None:
    return parse_uuid(request.GET.get(OrganizationFilter.parameter_name) or "")


def search_organizations(request, model) -> list[uuid.UUID]:
    """Search hashes include the organization: hash for the selected organization, or for
    every organization present in the table."""
    organization = selected_organization(request)
    return [organization] if organization is not None else present_organizations(model)
