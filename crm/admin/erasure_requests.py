"""Four eyes on erasure in the back-office (`ERASURE_APPROVAL`, docs/admin.md "Four eyes").

With the setting on, a registry admin's hard delete (its page and its list action) asks for the
erasure instead of erasing (`ask_for_erasure`): one `crm.ErasureRequest` per record, through
`crm.lifecycle.approval`. *Erasure requests* (`ErasureRequestAdmin`) lists them, pending first,
for whoever may hard-delete; a request's page shows its reason, who asked and when, and the plan
of what the erasure removes *now* (the confirmation page's table), says when the record changed
since, and offers another data-protection officer "Approve and erase" and "Reject", the
requester only "Withdraw". Approval erases through the lifecycle core with the kind admin's
`announce_erasure` (the change events), as a one-step hard delete does.
"""

import contextlib

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from crm import lifecycle
from crm.admin.lists import ReadOnlyAdmin, choices_filter, record_change_url, short_id
from crm.crypto.encryption import DecryptionError
from crm.ids import parse_uuid
from crm.lifecycle import approval
from crm.models import ErasureRequest


def approval_required() -> bool:
    """Whether an admin hard delete waits for a second data-protection officer."""
    return settings.ERASURE_APPROVAL


def ask_for_erasure(model_admin, request, objects, reason: str) -> list[ErasureRequest]:
    """Ask for each record of `objects` to be erased (one request each); a refusal (a hold, a
    request already waiting) is told and the others are still asked for."""
    asked = []
    for obj in objects:
        try:
            asked.append(
                approval.erasure_request_create(
                    obj=obj, reason=reason, requested_by=request.user.get_username()
                )
            )
        except lifecycle.ErasureError as error:
            message = gettext("Nothing was asked for %(object)s: %(reason)s")
            model_admin.message_user(
                request, message % {"object": obj, "reason": error}, messages.ERROR
            )
    if asked:
        message = ngettext(
            "The erasure of %(count)d record was asked for: another data protection officer "
            "must approve it under Erasure requests.",
            "The erasure of %(count)d records was asked for: another data protection officer "
            "must approve each under Erasure requests.",
            len(asked),
        )
        model_admin.message_user(request, message % {"count": len(asked)}, messages.SUCCESS)
    return asked


def request_url(erasure_request: ErasureRequest) -> str:
    return reverse("admin:crm_erasurerequest_change", args=[erasure_request.pk])


def _kind_admin(site, object_type: str):
    """The registry admin of a kind (its hard-delete permission, plan rows and events)."""
    return site.get_model_admin(lifecycle.kind(object_type).model)


def record_names(site, requests) -> dict:
    """`(object_type, object_id)` -> how staff know the record (the kind admin's
    `display_name`), for a page of requests: one query per kind. Records gone or unreadable
    are left out (shown by id)."""
    names = {}
    wanted: dict[str, list] = {}
    for erasure_request in requests:
        wanted.setdefault(erasure_request.object_type, []).append(erasure_request.object_id)
    for object_type, ids in wanted.items():
        kind_admin = _kind_admin(site, object_type)
        for pk, record in kind_admin.model.all_objects.in_bulk(ids).items():
            with contextlib.suppress(DecryptionError):
                names[(object_type, pk)] = kind_admin.display_name(record)
    return names


@admin.register(ErasureRequest)
class ErasureRequestAdmin(ReadOnlyAdmin):
    """Pending and rejected erasure requests, never written here but through
    `crm.lifecycle.approval`; deciding one is its page (`change_view`)."""

    list_display = ("record", "status_badge", "requested_by", "requested", "reason")
    list_display_links = None
    list_filter = (choices_filter("status", _("status"), ErasureRequest.Status.choices),)
    ordering = ("status", "-requested_at", "-id")  # pending first
    show_facets = admin.ShowFacets.NEVER
    list_per_page = 50

    def _may_erase(self, request, object_type: str | None = None) -> bool:
        kinds = [object_type] if object_type else [of.name for of in lifecycle.kinds()]
        return any(
            _kind_admin(self.admin_site, name).has_hard_delete_permission(request) for name in kinds
        )

    def has_module_permission(self, request) -> bool:
        return self.has_view_permission(request)

    def has_view_permission(self, request, obj=None) -> bool:
        """Whoever may decide (`may_decide`), and whoever was given `view_erasurerequest`
        (an auditor reading the queue; no decisions)."""
        return self.may_decide(request, obj) or super().has_view_permission(request, obj)

    def may_decide(self, request, obj: ErasureRequest | None = None) -> bool:
        """Approving and rejecting: the hard-delete permission of the request's kind (of any
        kind, for the list)."""
        return self._may_erase(request, obj.object_type if obj else None)

    def changelist_view(self, request, extra_context=None):
        extra_context = {"title": gettext("Erasure requests"), **(extra_context or {})}
        return super().changelist_view(request, extra_context)

    def get_changelist(self, request, **kwargs):
        site = self.admin_site

        class RequestChangeList(super().get_changelist(request, **kwargs)):
            def get_results(self, request):
                super().get_results(request)
                names = record_names(site, self.result_list)
                for erasure_request in self.result_list:
                    key = (erasure_request.object_type, erasure_request.object_id)
                    erasure_request.record_name = names.get(key)

        return RequestChangeList

    # --- list columns ----------------------------------------------------------------------

    @admin.display(description=_("record"))
    def record(self, obj: ErasureRequest):
        """The record as staff know it (its id once it cannot be read), linked to the
        request's page, and how many records its erasure removed when it was asked for."""
        total = sum(obj.plan_counts.values())
        size = ngettext("%(count)d record", "%(count)d records", total) % {"count": total}
        name = getattr(obj, "record_name", None)
        return format_html(
            '<a href="{}">{} {}</a> <span class="crm-nowrap">· {}</span>',
            request_url(obj),
            lifecycle.kind(obj.object_type).label,
            name or short_id(obj.object_id),
            size,
        )

    @admin.display(description=_("requested at (UTC)"), ordering="requested_at")
    def requested(self, obj: ErasureRequest) -> str:
        return f"{obj.requested_at:%Y-%m-%d %H:%M}"

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, obj: ErasureRequest) -> str:
        return obj.get_status_display()

    # --- a request's page: review, approve, reject ---------------------------------------------

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        erasure_request = ErasureRequest.objects.filter(pk=parse_uuid(str(object_id))).first()
        if erasure_request is None:  # erased with its record (by approval, the API, a purge)
            message = gettext(
                "This erasure request no longer exists: its record was erased meanwhile."
            )
            self.message_user(request, message, messages.WARNING)
            return HttpResponseRedirect(reverse("admin:crm_erasurerequest_changelist"))
        if not self.has_view_permission(request, erasure_request):
            raise PermissionDenied
        if request.method == "POST":
            if not self.may_decide(request, erasure_request):
                raise PermissionDenied
            return self._decide(request, erasure_request)
        return self._review_page(request, erasure_request)

    def _decide(self, request, erasure_request: ErasureRequest):
        username = request.user.get_username()
        kind_admin = _kind_admin(self.admin_site, erasure_request.object_type)
        decision = request.POST.get("decision")
        try:
            if decision == "approve":
                erased = approval.erasure_request_approve(
                    request_id=erasure_request.pk,
                    approver=username,
                    announce=type(kind_admin).announce_erasure,
                )
                message = ngettext(
                    "Approved: %(count)d record was erased for good.",
                    "Approved: %(count)d records were erased for good.",
                    sum(erased.values()),
                ) % {"count": sum(erased.values())}
            elif decision == "reject":
                approval.erasure_request_reject(
                    request_id=erasure_request.pk,
                    by=username,
                    reason=request.POST.get("reason", ""),
                )
                message = gettext("The erasure request was closed: nothing was erased.")
            else:
                return HttpResponseRedirect(request_url(erasure_request))
        except lifecycle.ErasureError as error:
            message = gettext("Nothing was erased: %(reason)s") % {"reason": error}
            self.message_user(request, message, messages.ERROR)
            return HttpResponseRedirect(request_url(erasure_request))
        self.message_user(request, message, messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:crm_erasurerequest_changelist"))

    def _review_page(self, request, erasure_request: ErasureRequest):
        kind_admin = _kind_admin(self.admin_site, erasure_request.object_type)
        pending = erasure_request.status == ErasureRequest.Status.PENDING
        state = approval.request_state(erasure_request) if pending else None
        record = state.record if state else None
        rows, holds, name = [], [], str(erasure_request.object_id)
        if record is not None:
            rows = kind_admin._erasure_rows(state.plan, [record])
            holds = kind_admin.hold_rows(state.plan)
            with contextlib.suppress(DecryptionError):  # a lost key: the id names it
                name = kind_admin.display_name(record)
        own = erasure_request.requested_by == request.user.get_username()
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Erasure request"),
            "subtitle": name,
            "opts": self.opts,
            "erasure_request": erasure_request,
            "kind_label": lifecycle.kind(erasure_request.object_type).label,
            "record_name": name,
            "record_url": record_change_url(
                erasure_request.object_type, erasure_request.object_id, self.admin_site
            )
            if record is not None
            else None,
            "pending": pending,
            "changed": state.changed if state else "",
            "rows": rows,
            "record_count": len(rows),
            "holds": holds,
            "own": own,
            "may_decide": pending and self.may_decide(request, erasure_request),
            "may_approve": pending
            and not own
            and not holds
            and not (state and state.changed)
            and self.may_decide(request, erasure_request),
            "reason_missing": False,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/crm/erasure_request.html", context)
