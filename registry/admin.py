"""The holder page with its alias accounts: the back-office of the aggregate.

`holders.admin.HolderAdmin` knows holders only; here it gets the holder's accounts (the
`aliases.admin.AliasInline` near the top, a link to all of them when only the first are shown)
and a search that also finds holders by alias id or account id. The alias admin registers
itself (`aliases.admin`).
"""

import json

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext

from aliases.admin import AliasInline, holder_aliases_link, holders_by_alias
from holders.admin import HolderAdmin
from holders.models import Holder
from registry.subject import record_copy, subject_copy

# Who may hand out a data subject's copy: it holds the audit trail, which only the
# data-protection officer reads (`staff.roles`).
SUBJECT_COPY_PERMISSION = "crm.view_auditentry"


@admin.register(Holder)
class HolderWithAccountsAdmin(HolderAdmin):
    inlines = (AliasInline,)
    extra_searches = (holders_by_alias,)

    def inlines_more(self, holder: Holder) -> dict:
        return holder_aliases_link(holder)

    # --- a data subject's copy (LGPD art. 18; registry/subject.py) ---------------------------

    def get_urls(self):
        own = [
            path(
                "<uuid:object_id>/subject-copy/",
                self.admin_site.admin_view(self.subject_copy_view),
                name=self._url_name("subject_copy"),
            )
        ]
        return [*own, *super().get_urls()]

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if object_id and request.user.has_perm(SUBJECT_COPY_PERMISSION):
            extra_context = {
                "subject_copy_url": self._url("subject_copy", object_id),
                **(extra_context or {}),
            }
        return super().changeform_view(request, object_id, form_url, extra_context)

    def subject_copy_view(self, request, object_id):
        """Ask for the reason, then download everything held about this holder's person as
        one JSON file; audited with the reason (data-protection officers only)."""
        if not request.user.has_perm(SUBJECT_COPY_PERMISSION):
            raise PermissionDenied
        holder = get_object_or_404(Holder.all_objects, pk=object_id)
        reason = request.POST.get("reason", "").strip()
        if request.method == "POST" and reason:
            copy = subject_copy(organization_id=holder.organization_id, document=holder.document)
            with transaction.atomic():
                record_copy(copy, reason=reason)
            response = HttpResponse(
                json.dumps(copy, ensure_ascii=False, indent=2),
                content_type="application/json; charset=utf-8",
            )
            response["Content-Disposition"] = f'attachment; filename="subject-{holder.pk}.json"'
            response["Cache-Control"] = "no-store"
            return response
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Data subject's copy"),
            "subtitle": self.display_name(holder),
            "reason_missing": request.method == "POST" and not reason,
            "opts": self.model._meta,
            "original": holder,
            "display_name": self.display_name(holder),
            "change_url": reverse(f"admin:{self._url_name('change')}", args=[holder.pk]),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/registry/subject_copy.html", context)
