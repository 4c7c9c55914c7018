"""The back-office dashboard (`/admin/dashboard/`, issue 11 item 6): how many records each
organization has, live and soft-deleted, and the latest changes and erasures.

Every number is the planner's estimate when PostgreSQL expects far more than `COUNT_LIMIT`
rows, else an index range read of at most `COUNT_LIMIT` + 1 rows ("more than" beyond it;
`crm.admin.counting.estimate_or_count`), and the organizations come from a loose index scan,
so the page costs the same at a thousand holders and at a million. The recent entries are two
`LIMIT`ed reads of the audit trail's (created_at) and (action, created_at) indexes; they are
shown to those who may read the audit trail (`crm.view_auditentry`).
"""

from dataclasses import dataclass

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from crm import lifecycle
from crm.admin.audit import kind_name
from crm.admin.counting import estimate_or_count
from crm.admin.lists import organization_label, present_organizations
from crm.admin.naming import record_names
from crm.models import AuditEntry, AuditVerification, organization_labels

COUNT_LIMIT = 1000
ORGANIZATIONS_SHOWN = 50
RECENT = 10


@dataclass(frozen=True)
class Count:
    number: int
    estimate: str  # "", "about", "more than"


@dataclass(frozen=True)
class OrganizationRow:
    organization_id: str
    label: str  # the organization as staff know it (`crm.Organization`), the id in a tooltip
    counts: list[Count]  # per kind: live, deleted


def _count(queryset) -> Count:
    return Count(*estimate_or_count(queryset, COUNT_LIMIT))


def organization_rows(kinds) -> list[OrganizationRow]:
    organizations = sorted(
        {org for kind in kinds for org in present_organizations(kind.model)}, key=str
    )[:ORGANIZATIONS_SHOWN]
    labels = organization_labels(organizations)
    rows = []
    for organization in organizations:
        counts = []
        for kind in kinds:
            records = kind.model.all_objects.for_organization(organization)
            counts += [_count(records.live()), _count(records.deleted())]
        rows.append(
            OrganizationRow(str(organization), organization_label(organization, labels), counts)
        )
    return rows


def _with_links(entries: list[AuditEntry]) -> list[tuple[AuditEntry, str | None, str]]:
    """Each entry with the admin URL of its record and the record's name as staff know it
    (`crm.admin.naming`), while the record exists (a query per kind and one for the
    organizations' labels)."""
    by_kind = {kind.name: kind for kind in lifecycle.kinds()}
    names: dict[str, dict] = {}
    for name in by_kind:
        ids = [e.object_id for e in entries if e.object_type == name and e.object_id]
        names[name] = record_names(name, ids) if ids else {}
    linked = []
    for entry in entries:
        url = None
        name = names.get(entry.object_type, {}).get(entry.object_id, "")
        if name:
            opts = by_kind[entry.object_type].model._meta
            try:
                url = reverse(
                    f"admin:{opts.app_label}_{opts.model_name}_change", args=[entry.object_id]
                )
            except NoReverseMatch:
                url = None
        linked.append((entry, url, name))
    return linked


def dashboard_view(request):
    kinds = [
        kind
        for kind in lifecycle.kinds()
        if admin.site.is_registered(kind.model)
        and request.user.has_perm(
            f"{kind.model._meta.app_label}.view_{kind.model._meta.model_name}"
        )
    ]
    can_audit = request.user.has_perm("crm.view_auditentry")
    if not kinds and not can_audit:
        raise PermissionDenied
    context = {
        **admin.site.each_context(request),
        "title": _("Dashboard"),
        "kinds": [kind.model._meta.verbose_name_plural for kind in kinds],
        "rows": organization_rows(kinds),
        "count_limit": COUNT_LIMIT,
        "organizations_shown": ORGANIZATIONS_SHOWN,
        "can_audit": can_audit,
    }
    if can_audit:
        trail = AuditEntry.objects.order_by("-created_at", "-id")
        context["recent_changes"] = _with_links(
            list(trail.exclude(action=AuditEntry.Action.HARD_DELETE)[:RECENT])
        )
        context["recent_erasures"] = list(
            trail.filter(action=AuditEntry.Action.HARD_DELETE)[:RECENT]
        )
        for entry in [
            *(e for e, _url, _name in context["recent_changes"]),
            *context["recent_erasures"],
        ]:
            entry.object_type_label = kind_name(entry.object_type, 1)
        context["audit_url"] = reverse("admin:crm_auditentry_changelist")
        context["last_verification"] = AuditVerification.objects.first()
    request.current_app = admin.site.name
    return TemplateResponse(request, "admin/crm/dashboard.html", context)
