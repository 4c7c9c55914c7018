"""The holder page with its alias accounts: the back-office of the aggregate.

`holders.admin.HolderAdmin` knows holders only; here it gets the holder's accounts (the
`aliases.admin.AliasInline` near the top, a link to all of them when only the first are shown)
and a search that also finds holders by alias id or account id. The alias admin registers
itself (`aliases.admin`).

Soft delete and restore on the holder page are one customer operation
(`registry.services.customer_soft_delete` / `customer_restore`): a confirmation page lists the
accounts that go (or come back) with the holder, then both are written in one transaction,
audited as one action. The list's actions keep the API's rule (CRM-0017 while the holder has
live accounts), and their refusal links to that page.
"""

import json
from functools import partial

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext, gettext_noop

from aliases.admin import AliasInline, holder_aliases_link, holders_by_alias
from crm.api.errors import CRMError
from crm.ids import parse_uuid
from crm.lifecycle.audit import giving_reason
from holders.admin import HolderAdmin
from holders.models import Holder
from registry import services
from registry.subject import record_copy, subject_copy

# Soft-deleting or restoring a customer changes its accounts too.
ACCOUNTS_PERMISSION = "aliases.soft_delete_aliasaccount"

# The customer operations: page title, done, refused (translated where shown).
CUSTOMER_CHANGES = {
    "soft_delete": (
        gettext_noop("Soft-delete this customer with its alias accounts?"),
        gettext_noop("%(object)s was soft-deleted with %(count)d alias account(s)."),
        gettext_noop("%(object)s was not deleted"),
    ),
    "restore": (
        gettext_noop("Restore this customer and its alias accounts?"),
        gettext_noop("%(object)s was restored with %(count)d alias account(s)."),
        gettext_noop("%(object)s was not restored"),
    ),
}

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
        wrap = self.admin_site.admin_view
        own = [
            path(
                "<uuid:object_id>/subject-copy/",
                wrap(self.subject_copy_view),
                name=self._url_name("subject_copy"),
            ),
            *(
                path(
                    f"<uuid:object_id>/customer-{change.replace('_', '-')}/",
                    wrap(partial(self.customer_view, change=change)),
                    name=self._url_name(f"customer_{change}"),
                )
                for change in CUSTOMER_CHANGES
            ),
        ]
        return [*own, *super().get_urls()]

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if object_id and request.user.has_perm(SUBJECT_COPY_PERMISSION):
            extra_context = {
                "subject_copy_url": self._url("subject_copy", object_id),
                **(extra_context or {}),
            }
        if object_id and parse_uuid(str(object_id)):
            # The page's "Soft delete…" / "Restore…" open the customer's confirmation page.
            extra_context = {
                "state_confirmation": True,
                "soft_delete_url": self._url("customer_soft_delete", object_id),
                "restore_url": self._url("customer_restore", object_id),
                **(extra_context or {}),
            }
        return super().changeform_view(request, object_id, form_url, extra_context)

    # --- a customer soft-deleted or restored with its accounts (registry/services.py) ---------

    def report_state_refusal(self, request, obj, change: str, error: CRMError) -> None:
        """A list action refused by the API's rule (CRM-0017: live accounts) says so by name
        and links to the page that soft-deletes the customer with its accounts."""
        if error.code != "CRM-0017":
            super().report_state_refusal(request, obj, change, error)
            return
        message = format_html(
            '{} <a href="{}">{}</a>',
            gettext("%(object)s was not deleted: it has live alias accounts (%(code)s).")
            % {"object": self.display_name(obj), "code": error.code},
            self._url("customer_soft_delete", obj.pk),
            gettext("Soft-delete it with its accounts…"),
        )
        self.message_user(request, message, messages.ERROR)

    def customer_view(self, request, object_id, change: str):
        """The confirmation page of a customer's soft delete or restore (GET), and the
        operation itself (POST `post=yes` with the accounts listed or ticked on the page)."""
        holder = get_object_or_404(Holder.all_objects, pk=object_id)
        if not self.has_soft_delete_permission(request, holder):
            raise PermissionDenied
        change_url = self._url("change", holder.pk)
        deleting = change == "soft_delete"
        if holder.is_deleted == deleting:  # already done (another tab, a colleague)
            return HttpResponseRedirect(change_url)
        if deleting:
            accounts, chosen = services.customer_soft_delete_accounts(holder), None
        else:
            accounts, chosen = services.customer_restore_accounts(holder)
        if accounts and not request.user.has_perm(ACCOUNTS_PERMISSION):
            raise PermissionDenied  # the accounts are changed too
        if request.method == "POST" and request.POST.get("post") == "yes":
            ids = {parse_uuid(value) for value in request.POST.getlist("account")} - {None}
            if self._customer_change(request, holder, change, ids):
                return HttpResponseRedirect(change_url)
            return HttpResponseRedirect(request.get_full_path())
        title, _done, _failed = CUSTOMER_CHANGES[change]
        context = {
            **self.admin_site.each_context(request),
            "title": gettext(title),
            "subtitle": self.display_name(holder),
            "display_name": self.display_name(holder),
            "deleting": deleting,
            "accounts": [
                {
                    "id": account.pk,
                    "label": account.bank_account_label,
                    "url": reverse("admin:aliases_aliasaccount_change", args=[account.pk]),
                    "deleted_at": account.deleted_at,
                    "checked": deleting or account.pk in chosen,
                }
                for account in accounts
            ],
            "opts": self.model._meta,
            "original": holder,
            "change_url": change_url,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/registry/customer_state.html", context)

    def _customer_change(self, request, holder: Holder, change: str, alias_ids) -> bool:
        """Run the operation through `registry.services`; tell staff what happened."""
        _title, done, failed = CUSTOMER_CHANGES[change]
        write = (
            services.customer_soft_delete if change == "soft_delete" else services.customer_restore
        )
        name = self.display_name(holder)
        try:
            with giving_reason(request.POST.get("reason", "")):
                write(
                    organization_id=holder.organization_id, holder_id=holder.pk, alias_ids=alias_ids
                )
        except CRMError as error:
            self.report_crm_error(request, error, gettext(failed) % {"object": name})
            return False
        self.log_change(
            request,
            holder,
            f"{self.STATE_CHANGES[change][1]} With {len(alias_ids)} alias account(s).",
        )
        message = gettext(done) % {"object": name, "count": len(alias_ids)}
        self.message_user(request, message, messages.SUCCESS)
        return True

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
