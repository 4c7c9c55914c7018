"""`RegistryAdmin`: the base of the holder and alias admins, a thin client of the services.

* **Writes** go through the services: `save_model` hands the form's validated `payload` to
  `service_create` / `service_update`. A refusal only the service can decide (a record
  deleted or taken meanwhile, ...) is reported with `message_user`, everything the request
  wrote is rolled back, and the form page is shown again — never a 500, never a half-write.
* **Deletion**: Django's stock delete is off (it would bypass CRM-0017 and the erasure
  rules). Soft delete and restore call the services; hard delete shows the lifecycle core's
  erasure plan on a confirmation page (the same plan `manage.py hard_delete` prints) and then
  erases exactly that selection through `crm.lifecycle.erase`, announcing it with the
  subclass's `announce_erasure` (the change events). Both load the selected rows with
  `ERASURE_COLUMNS` only, so a record no configured key can read is still erased (a masked
  document that cannot be decrypted is left off the confirmation page).
* **History** is the object's audit trail (`AuditEntry`: who, when, which fields).
* **Permissions** beyond Django's add/change/view, one per step (`<step>_<model>` in the
  models' `Meta.permissions`, given to the ready-made roles by `staff`): `soft_delete`
  (soft delete and restore), `export` (CSV download with documents and account numbers
  masked, `crm.admin.export`), `export_unmasked` (the same in full, with a reason) and
  `hard_delete`.
* **Exports** larger than `export.CONFIRM_ROWS` rows, and every unmasked one, go through a
  confirmation page that shows the selection's size (and asks for the reason).
* A save that changes nothing records nothing (neither an audit entry nor a Django log entry).
* **Reasons**: a hard delete asks for a reason (legal basis), a soft delete accepts one; it is
  kept on the audit entry (`crm.lifecycle.audit.giving_reason`).
* **Documents** are masked on the change page; "Show full document" asks the `document` view,
  which records a `view_document` audit entry before answering.
* **Names**: pages, messages, titles and breadcrumbs name a record as staff know it
  (`crm.admin.naming.staff_name`: name, masked document, organization label), Django's own
  "was added / changed" messages included; `__str__`, which Django's log entries and messages
  to logs use, stays free of personal data.
"""

import contextlib
from functools import partial
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import SEARCH_VAR
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache

from crm import lifecycle
from crm.admin import erasure_requests, export, history, searching
from crm.admin.errors import crm_error_text
from crm.admin.lists import (
    OrganizationFilter,
    StateFilter,
    mask_document,
    organization_label,
    record_change_url,
    short_id,
    state_badge,
)
from crm.admin.naming import record_names, staff_name
from crm.admin.paging import PagedAdmin, count_text
from crm.api.conditional import IfMatch
from crm.api.errors import CRMError
from crm.crypto.encryption import DecryptionError, is_unreadable, unreadable_fields
from crm.ids import parse_uuid
from crm.lifecycle import approval, holds
from crm.lifecycle.audit import giving_reason
from crm.models import ERASURE_COLUMNS, AuditEntry, RecordVersion, organization_labels

SAVE_BUTTONS = ("show_save", "show_save_and_continue", "show_save_and_add_another")

# Django's own messages after a save (its wording and translations), sent with the record named
# as staff know it instead of `__str__`: (done, then by button pressed).
SAVED_MESSAGES = {
    "add": (
        "The {name} “{obj}” was added successfully.",
        {
            "_continue": "You may edit it again below.",
            "_addanother": "The {name} “{obj}” was added successfully. You may add another "
            "{name} below.",
        },
    ),
    "change": (
        "The {name} “{obj}” was changed successfully.",
        {
            "_continue": "The {name} “{obj}” was changed successfully. You may edit it again "
            "below.",
            "_addanother": "The {name} “{obj}” was changed successfully. You may add another "
            "{name} below.",
        },
    ),
}


class Refused(Exception):
    """A service refused a write of the change form; raised out of the admin's transaction so
    that everything the request wrote is rolled back."""


def adopt(target, source) -> None:
    """Make the admin's `obj` the row the service wrote (same id, values, saved state), so
    Django's log entry and redirect point at it."""
    for field in source._meta.concrete_fields:
        setattr(target, field.attname, getattr(source, field.attname))
    target._state.adding = False
    target._state.db = source._state.db


def _planned_model(kind_or_label: str):
    """The model of an erasure plan's row: a kind's, or a listed part's (by its label)."""
    for kind in lifecycle.kinds():
        if kind.name == kind_or_label:
            return kind.model
        for part in kind.parts:
            if part.label and part.label == kind_or_label:
                return part.model
    return None


def _plain_details(record: lifecycle.PlannedRecord) -> list[str]:
    """A plan row's plaintext columns as staff read them: the field's name and a choice's
    label ("type Natural person", "role Legal representative"), never a raw enum value."""
    model = _planned_model(record.kind)
    details = []
    for name, value in record.details.items():
        field = model._meta.get_field(name) if model else None
        label = str(field.verbose_name) if field else name.replace("_", " ")
        shown = dict(field.flatchoices).get(value, value) if field else value
        details.append(f"{label} {shown}")
    return details


class RegistryAdmin(PagedAdmin, admin.ModelAdmin):
    """Subclasses implement `service_create(form)`, `service_update(obj, payload)`,
    `service_soft_delete(obj)` and `service_restore(obj)`, name the erasure's change events
    with `announce_erasure` (`events.outbox.erasure_events`), and may add to an erasure plan's
    details with `erasure_details(obj)`."""

    # What an erasure from this admin announces (`crm.lifecycle.erase`'s `announce`); required.
    announce_erasure: lifecycle.AnnounceErasure

    kind_name = ""  # the lifecycle kind ("holder", "alias")
    hard_delete_permission = ""  # "app_label.codename"
    list_defer: tuple[str, ...] = ()  # encrypted columns a list page need not decrypt
    change_form_template = "admin/crm/registry_change_form.html"
    change_list_template = "admin/crm/registry_change_list.html"  # the deleted-matches hint
    save_as = False
    # Counts, paging and "Show all": `crm.admin.paging.PagedAdmin`; no per-choice counts.
    show_facets = admin.ShowFacets.NEVER
    list_display_links = None
    list_filter = ("type", OrganizationFilter, StateFilter)
    ordering = ("-id",)
    search_fields = ("id",)  # shows the search box; `get_search_results` does the searching
    actions = (
        "soft_delete_selected",
        "restore_selected",
        "export_selected",
        "export_unmasked_selected",
        "hard_delete_selected",
    )
    change_list_template = "admin/crm/registry_change_list.html"
    inlines_near_top = False  # inlines right after the first section instead of at the end
    export_columns: tuple[tuple[str, ...], ...] = ()  # wire paths, one CSV column each
    export_masks: export.Masks = {}  # wire paths masked unless exported unmasked
    record_fields = ("id", "organization_id", "created_at", "updated_at", "deleted_at")

    def get_queryset(self, request):
        return self.model.all_objects.all()

    def get_changelist(self, request, **kwargs):
        defer = self.list_defer
        prepare_page = self.prepare_page
        base = super().get_changelist(request, **kwargs)  # crm.admin.paging.PagedChangeList

        class RegistryChangeList(base):
            def get_queryset(self, request, exclude_parameters=None):
                return super().get_queryset(request, exclude_parameters).defer(*defer)

            def get_results(self, request):
                super().get_results(request)
                prepare_page(self.result_list)

        return RegistryChangeList

    def prepare_page(self, rows) -> None:
        """Load what the list columns show of other tables for the whole page at once (a
        query per table, never one per row): here the organization labels."""
        labels = organization_labels(obj.organization_id for obj in rows)
        for obj in rows:
            obj.organization_labels = labels

    def search_arms(self, request, term: str) -> list:
        """The search box's kinds of match for `term`, live or deleted: `searching.newest`
        querysets of record ids, each one ordered index read, scoped by organization
        (subclasses). Personal values are found through their search hashes only."""
        raise NotImplementedError

    def search(self, request, term: str) -> searching.SearchResult:
        """The newest matches of `term` (`crm.admin.searching`), once per request: the page,
        its count and the deleted-matches hint all use them."""
        done = request.__dict__.setdefault("_crm_searches", {})
        key = (self.model, term, request.GET.get(OrganizationFilter.parameter_name))
        if key not in done:
            done[key] = searching.run_search(self.search_arms(request, term))
        return done[key]

    def get_search_results(self, request, queryset, search_term):
        """The page is `id IN (the newest matches)`: the matches are found through their own
        indexes, never by reading the organization's rows; the filters, the count and the
        page then read those rows by primary key."""
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(id__any_of=self.search(request, term).ids), False

    def deletion_dates(self, ids: list):
        """`deleted_at` of the records `ids` (primary-key reads), for the deleted-matches hint:
        a filter on `deleted_at` could lead the database to walk every deleted row instead."""
        return self.model.all_objects.filter(id__any_of=ids).values_list("deleted_at", flat=True)

    def search_notes(self, request) -> dict[str, Any]:
        """What the page says about its search: that older matches were not looked at
        (`search_truncated`), and when the "live" state (the default) hides matches among
        deleted records, how many and the link that shows them (`deleted_hint`; one count
        of the found ids by primary key)."""
        # Every key is always there: the template would otherwise log a failed variable
        # lookup, with the page's context (the search term) in the log line.
        notes: dict[str, Any] = {
            "search_truncated": False,
            "search_limit": searching.SEARCH_LIMIT,
            "deleted_hint": None,
        }
        term = request.GET.get(SEARCH_VAR, "").strip()
        if not term:
            return notes
        result = self.search(request, term)
        notes["search_truncated"] = result.truncated
        if (request.GET.get(StateFilter.parameter_name) or "live") != "live" or not result.ids:
            return notes
        found = sum(1 for deleted_at in self.deletion_dates(result.ids) if deleted_at)
        if found:
            query = request.GET.copy()
            query[StateFilter.parameter_name] = "deleted"
            query.pop("p", None)
            notes["deleted_hint"] = {
                "count": f"{found}+" if result.truncated else str(found),
                "number": found,
                "url": f"?{query.urlencode()}",
            }
        return notes

    def get_readonly_fields(self, request, obj=None):
        """Read-only fields show on the change page only (the add page has the inputs)."""
        return self.readonly_fields if obj is not None else ()

    def get_inline_instances(self, request, obj=None):
        """Inlines hang off an existing record: none on the add page."""
        return super().get_inline_instances(request, obj) if obj is not None else []

    # --- list columns shared by every registry model ---------------------------------------

    @admin.display(description=_("id"), ordering="id")
    def record_id(self, obj):
        return short_id(obj.pk, self._url("change", obj.pk))

    @admin.display(description=_("organization"))
    def organization(self, obj):
        return organization_label(obj.organization_id, getattr(obj, "organization_labels", None))

    @admin.display(description=_("created (UTC)"), ordering="created_at")
    def created(self, obj) -> str:
        return obj.created_at.strftime("%Y-%m-%d %H:%M")

    @admin.display(description=_("state"))
    def state(self, obj):
        return state_badge(obj)

    @admin.display(description=_("document"))
    def masked_document(self, obj) -> str:
        return obj.document if is_unreadable(obj.document) else mask_document(obj.document)

    @admin.display(description=_("document"))
    def document_reveal(self, obj):
        """The masked document and a button that reveals it (the view is audited)."""
        if is_unreadable(obj.document):
            return obj.document
        return format_html(
            '<span class="crm-document" id="crm-document">{}</span> '
            '<button type="button" class="button crm-reveal" id="crm-reveal-document" '
            'data-url="{}">{}</button>',
            mask_document(obj.document),
            self._url("document", obj.pk),
            gettext("Show full document"),
        )

    def has_change_permission(self, request, obj=None) -> bool:
        """A record with a value no configured key reads is read-only: a save would have to
        write back what it cannot read (crm/admin/unreadable.py)."""
        if obj is not None and unreadable_fields(obj):
            return False
        return super().has_change_permission(request, obj)

    def display_name(self, obj) -> str:
        """How staff recognise the record (`crm.admin.naming.staff_name`). Pages and messages
        only: never in logs."""
        return staff_name(obj)

    # --- Django's "was added / changed" messages, naming the record --------------------------

    def message_user(self, request, message, level=messages.INFO, *args, **kwargs):
        if level == messages.SUCCESS and getattr(request, "_crm_own_saved_message", False):
            return  # Django's, naming `__str__`: `_saved_message` sends it with the name
        super().message_user(request, message, level, *args, **kwargs)

    def _saved_message(self, request, obj, done: str, respond):
        """`respond()` (Django's response after a save) without its message, and the same
        message naming the record as staff know it, linked to its page."""
        request._crm_own_saved_message = True
        try:
            response = respond()
        finally:
            request._crm_own_saved_message = False
        first, by_button = SAVED_MESSAGES[done]
        button = next((name for name in by_button if name in request.POST), None)
        if done == "add" and button == "_continue":
            text = f"{gettext(first)} {gettext(by_button[button])}"
        else:
            text = gettext(by_button[button]) if button else gettext(first)
        link = format_html(
            '<a href="{}">{}</a>', self._url("change", obj.pk), self.display_name(obj)
        )
        self.message_user(
            request,
            format_html(text, name=self.opts.verbose_name, obj=link),
            messages.SUCCESS,
        )
        return response

    def response_add(self, request, obj, post_url_continue=None):
        respond = partial(super().response_add, request, obj, post_url_continue)
        return self._saved_message(request, obj, "add", respond)

    def response_change(self, request, obj):
        return self._saved_message(
            request, obj, "change", partial(super().response_change, request, obj)
        )

    # --- writes through the services -------------------------------------------------------

    def save_model(self, request, obj, form, change) -> None:
        try:
            if not change:
                written = self.service_create(form)
            elif form.payload:
                written = self.service_update(obj, form.payload, form.if_match)
            else:
                return
        except CRMError as error:
            self.refuse(request, error)
        adopt(obj, written)

    def log_change(self, request, obj, message):
        """Django's own log entry, unless the save changed nothing."""
        if message == []:
            return None
        return super().log_change(request, obj, message)

    def save_related(self, request, form, formsets, change) -> None:
        try:
            super().save_related(request, form, formsets, change)
        except CRMError as error:
            self.refuse(request, error)

    def refuse(self, request, error: CRMError) -> None:
        """The service refused: tell the user why, and leave the admin's transaction with
        `Refused` so that nothing this request wrote stays (see `changeform_view`)."""
        self.report_crm_error(request, error, gettext("Not saved"))
        raise Refused from error

    def report_crm_error(self, request, error: CRMError, subject: str) -> None:
        self.message_user(request, f"{subject}: {crm_error_text(error)}", messages.ERROR)

    # --- stock delete off ------------------------------------------------------------------

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    # --- history: the audit trail ----------------------------------------------------------

    def history_view(self, request, object_id, extra_context=None):
        obj = self.model.all_objects.filter(pk=parse_uuid(str(object_id))).first()
        if not self.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        entries = AuditEntry.objects.filter(
            object_type=self.kind_name, object_id=parse_uuid(str(object_id))
        )
        # Documents unmasked only for who reads the audit trail, on request, recorded first.
        reveal = request.method == "POST" and request.POST.get("reveal") == "1"
        if reveal and not request.user.has_perm("crm.view_auditentry"):
            raise PermissionDenied
        if reveal and obj is not None:
            lifecycle.record(obj, AuditEntry.Action.VIEW_DOCUMENT, ["history"])
        opts = self.model._meta
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("History: %(name)s")
            % {"name": self.display_name(obj) if obj is not None else object_id},
            "object_name": self.display_name(obj) if obj is not None else "",
            "subtitle": None,
            "entries": entries,
            "versions": history.version_rows(obj, reveal=reveal) if obj is not None else [],
            "revealed": reveal,
            "can_reveal": request.user.has_perm("crm.view_auditentry"),
            "can_restore": obj is not None
            and not obj.is_deleted
            and self.has_change_permission(request, obj),
            "object": obj,
            "object_id": object_id,
            "opts": opts,
            "module_name": str(opts.verbose_name_plural),
            "app_label": opts.app_label,
            **(extra_context or {}),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/crm/audit_history.html", context)

    # --- deletion ----------------------------------------------------------------------------

    def has_hard_delete_permission(self, request) -> bool:
        return request.user.has_perm(self.hard_delete_permission)

    def _has_step_permission(self, request, step: str) -> bool:
        return request.user.has_perm(f"{self.opts.app_label}.{step}_{self.opts.model_name}")

    def has_soft_delete_permission(self, request, obj=None) -> bool:
        return self._has_step_permission(request, "soft_delete")

    def has_export_permission(self, request) -> bool:
        return self._has_step_permission(request, "export")

    def has_export_unmasked_permission(self, request) -> bool:
        """Full documents and account numbers in an export (with a reason): the data-protection
        officer's (`staff.roles`); only with the export permission itself."""
        return self.has_export_permission(request) and self._has_step_permission(
            request, "export_unmasked"
        )

    def _url_name(self, suffix: str) -> str:
        return f"{self.opts.app_label}_{self.opts.model_name}_{suffix}"

    def _url(self, suffix: str, pk) -> str:
        return reverse(f"admin:{self._url_name(suffix)}", args=[pk])

    # State changes the change page and the list actions offer: service hook, admin log
    # message (stored, so in English), and what staff are told: several done, one done, failed.
    STATE_CHANGES = {
        "soft_delete": (
            "service_soft_delete",
            "Soft-deleted.",
            _("Soft-deleted %(count)d record(s)."),
            _("%(object)s was soft-deleted."),
            _("%(object)s was not deleted"),
        ),
        "restore": (
            "service_restore",
            "Restored.",
            _("Restored %(count)d record(s)."),
            _("%(object)s was restored."),
            _("%(object)s was not restored"),
        ),
    }

    def get_urls(self):
        wrap = self.admin_site.admin_view
        views = {**{name: partial(self.state_view, change=name) for name in self.STATE_CHANGES}}
        views["hard_delete"] = self.hard_delete_view
        views["document"] = never_cache(self.document_view)
        views["legal_hold"] = self.legal_hold_view
        views["restore_version"] = self.restore_version_view
        own = [
            path(
                f"<uuid:object_id>/{name.replace('_', '-')}/", wrap(view), name=self._url_name(name)
            )
            for name, view in views.items()
        ]
        own.append(path("export/", wrap(self.export_view), name=self._url_name("export")))
        own.append(
            path(
                "export/unmasked/",
                wrap(partial(self.export_view, unmasked=True)),
                name=self._url_name("export_unmasked"),
            )
        )
        return [*own, *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **self.search_notes(request),
            "can_export": self.has_export_permission(request),
            "export_url": reverse(f"admin:{self._url_name('export')}"),
            "can_export_unmasked": self.has_export_unmasked_permission(request),
            "export_unmasked_url": reverse(f"admin:{self._url_name('export_unmasked')}"),
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra_context)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        obj = object_id and self.model.all_objects.filter(pk=parse_uuid(str(object_id))).first()
        if obj:
            extra_context = {
                "subtitle": self.display_name(obj),
                "display_name": self.display_name(obj),
                "organization": organization_label(obj.organization_id),
                "can_hard_delete": self.has_hard_delete_permission(request),
                "can_soft_delete": self.has_soft_delete_permission(request, obj),
                "inlines_near_top": self.inlines_near_top,
                # Defined even when empty: an unresolved template variable is logged with the
                # page's context (the record's personal data) at DEBUG.
                "inlines_more_url": "",
                "inlines_more_label": "",
                **self.inlines_more(obj),
                "is_deleted": obj.is_deleted,
                "unreadable": bool(unreadable_fields(obj)),
                "soft_delete_url": self._url("soft_delete", obj.pk),
                "restore_url": self._url("restore", obj.pk),
                "hard_delete_url": self._url("hard_delete", obj.pk),
                "legal_hold": holds.hold_of(obj),
                "erasure_request": approval.pending_request(obj),
                "can_legal_hold": self.has_legal_hold_permission(request),
                "legal_hold_url": self._url("legal_hold", obj.pk),
                **(dict.fromkeys(SAVE_BUTTONS, False) if obj.is_deleted else {}),
                **(extra_context or {}),
            }
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except Refused:  # rolled back; show the form again with the message
            return HttpResponseRedirect(request.get_full_path())

    def inlines_more(self, obj) -> dict[str, Any]:
        """A link under the inlines to the full list of related records (`inlines_more_url`,
        `inlines_more_label`), when the inlines show only the first ones."""
        return {}

    def _change_state(self, request, obj, change: str) -> bool:
        """Soft delete or restore one record through its service; a refusal is reported."""
        service, log_message, *_messages = self.STATE_CHANGES[change]
        if not self.has_soft_delete_permission(request, obj):
            raise PermissionDenied
        try:
            with giving_reason(request.POST.get("reason", "")):
                getattr(self, service)(obj)
        except CRMError as error:
            self.report_state_refusal(request, obj, change, error)
            return False
        self.log_change(request, obj, log_message)
        return True

    def report_state_refusal(self, request, obj, change: str, error: CRMError) -> None:
        """A soft delete or restore the service refused, the record named (subclasses may add
        the way forward, e.g. a link)."""
        failed = self.STATE_CHANGES[change][4]
        self.report_crm_error(request, error, failed % {"object": self.display_name(obj)})

    def _change_selected(self, request, queryset, change: str) -> None:
        done = sum(self._change_state(request, obj, change) for obj in queryset)
        if done:
            many = self.STATE_CHANGES[change][2]
            self.message_user(request, many % {"count": done}, messages.SUCCESS)

    def _erase(self, request, objects, reason: str) -> int:
        """Erase the selection through the lifecycle core (one transaction), the reason kept
        on the erasure's audit entries."""
        try:
            plan = lifecycle.plan_erasure(self.kind_name, [obj.pk for obj in objects])
            with giving_reason(reason):
                erased = lifecycle.erase(plan, announce=type(self).announce_erasure)
        except lifecycle.ErasureError as error:
            message = gettext("Nothing was erased: %(reason)s") % {"reason": error}
            self.message_user(request, message, messages.ERROR)
            return 0
        return erased.get(self.kind_name, 0)

    @admin.action(
        description=_("Soft-delete selected %(verbose_name_plural)s"), permissions=["soft_delete"]
    )
    def soft_delete_selected(self, request, queryset):
        self._change_selected(request, queryset.live(), "soft_delete")

    @admin.action(
        description=_("Restore selected %(verbose_name_plural)s"), permissions=["soft_delete"]
    )
    def restore_selected(self, request, queryset):
        self._change_selected(request, queryset.deleted(), "restore")

    # --- CSV export -------------------------------------------------------------------------

    @admin.action(
        description=_("Export selected %(verbose_name_plural)s to CSV"), permissions=["export"]
    )
    def export_selected(self, request, queryset):
        return self._export(request, queryset, self._action_selection(request), action=True)

    @admin.action(
        description=_("Export selected %(verbose_name_plural)s to CSV with full documents…"),
        permissions=["export_unmasked"],
    )
    def export_unmasked_selected(self, request, queryset):
        selection = self._action_selection(request)
        return self._export(request, queryset, selection, action=True, unmasked=True)

    @staticmethod
    def _action_selection(request) -> str:
        return "filters" if request.POST.get("select_across") == "1" else "ticked"

    def export_view(self, request, unmasked: bool = False):
        """The list's "Export CSV" button (and "Export with full documents…"): the whole list
        as filtered and searched now; the confirmation page posts back to the same address."""
        allowed = (
            self.has_export_unmasked_permission(request)
            if unmasked
            else self.has_export_permission(request)
        )
        if not allowed:
            raise PermissionDenied
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            return HttpResponseRedirect(reverse(f"admin:{self._url_name('changelist')}"))
        # The list counted its selection already, the bounded way (`crm.admin.paging`).
        size = (changelist.result_count, getattr(changelist.paginator, "estimate", ""))
        queryset = changelist.get_queryset(request)
        return self._export(request, queryset, "filters", unmasked=unmasked, size=size)

    def _export(
        self,
        request,
        queryset,
        selection: str,
        *,
        action: bool = False,
        unmasked: bool = False,
        size: tuple[int, str] | None = None,
    ):
        """Stream the export, or first the confirmation page: for an unmasked export until a
        valid reason is posted, for a masked one when the selection is large
        (`export.needs_confirmation`); a refused reason shows the page again with a 400.
        `size` is the selection's count when the caller has it (`export.selection_size`)."""
        confirmed = request.method == "POST" and request.POST.get("post") == "yes"
        reason = request.POST.get("reason", "") if confirmed and unmasked else ""
        problem = export.reason_problem(reason) if confirmed and unmasked else ""
        if not confirmed and not unmasked:
            size = size or export.selection_size(queryset)
            confirmed = not export.needs_confirmation(size)
        if confirmed and not problem:
            return export.csv_response(
                request,
                self.export_queryset(queryset.defer(None)),
                object_type=self.kind_name,
                columns=self.export_columns,
                row=self.export_row,
                masks=self.export_masks,
                selection=selection,
                unmasked=unmasked,
                reason=reason.strip(),
            )
        count, estimate = size or export.selection_size(queryset)
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Export to CSV"),
            "opts": self.model._meta,
            "size": count_text(count, estimate, self.model._meta),
            "large": export.needs_confirmation((count, estimate)),
            "unmasked": unmasked,
            "problem": problem,
            "reason": reason,
            "reason_max": export.REASON_MAX,
            "masked_columns": [".".join(path) for path in self.export_masks],
            "action": request.POST.get("action") if action else None,
            "select_across": request.POST.get("select_across", "0"),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "selected_ids": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME) if action else [],
            "changelist_url": reverse(f"admin:{self._url_name('changelist')}")
            + (f"?{request.GET.urlencode()}" if request.GET else ""),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(
            request, "admin/crm/export_confirmation.html", context, status=400 if problem else 200
        )

    def export_queryset(self, queryset):
        """The rows to export (subclasses add what their rows need, e.g. a prefetch)."""
        return queryset

    def export_row(self, obj) -> dict[str, Any]:
        """One exported record in wire shape (the API's representation)."""
        raise NotImplementedError

    @admin.action(
        description=_("Hard-delete (erase for good) selected %(verbose_name_plural)s…"),
        permissions=["hard_delete"],
    )
    def hard_delete_selected(self, request, queryset):
        objects = list(queryset.only(*ERASURE_COLUMNS))  # readable under a lost key too
        reason = request.POST.get("reason", "").strip()
        if request.POST.get("post") == "yes" and reason and erasure_requests.approval_required():
            erasure_requests.ask_for_erasure(self, request, objects, reason)
            return None
        if request.POST.get("post") == "yes" and reason:
            erased = self._erase(request, objects, reason)
            if erased:
                message = gettext("Erased %(count)d record(s).") % {"count": erased}
                self.message_user(request, message, messages.SUCCESS)
            return None
        return self._confirmation_page(request, objects, action=True)

    def state_view(self, request, object_id, change: str):
        """The change page's "Soft delete" / "Restore" buttons (POST only)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        obj = get_object_or_404(self.model.all_objects, pk=object_id)
        if not self.has_soft_delete_permission(request, obj):
            raise PermissionDenied
        if self._change_state(request, obj, change):
            one = self.STATE_CHANGES[change][3]
            self.message_user(request, one % {"object": self.display_name(obj)}, messages.SUCCESS)
        return HttpResponseRedirect(self._url("change", obj.pk))

    def hard_delete_view(self, request, object_id):
        if not self.has_hard_delete_permission(request):
            raise PermissionDenied
        # Plaintext columns only: erasure must work where no configured key reads the row.
        obj = get_object_or_404(self.model.all_objects.only(*ERASURE_COLUMNS), pk=object_id)
        reason = request.POST.get("reason", "").strip()
        if request.method == "POST" and request.POST.get("post") == "yes" and reason:
            if erasure_requests.approval_required():
                asked = erasure_requests.ask_for_erasure(self, request, [obj], reason)
                back = (
                    erasure_requests.request_url(asked[0]) if asked else self._url("change", obj.pk)
                )
                return HttpResponseRedirect(back)
            name = self.display_name(obj)  # read before the record is gone
            if self._erase(request, [obj], reason):
                message = gettext("%(object)s was erased.") % {"object": name}
                self.message_user(request, message, messages.SUCCESS)
                return HttpResponseRedirect(reverse(f"admin:{self._url_name('changelist')}"))
            return HttpResponseRedirect(self._url("change", obj.pk))
        return self._confirmation_page(request, [obj], action=False)

    def restore_version_view(self, request, object_id):
        """History's "restore these values" (POST `number`): a new change putting back what an
        update may change to version `number`'s values (`crm.admin.history`), through the
        service; refused when the record changed since the page was shown (`current`)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        obj = get_object_or_404(self.model.all_objects, pk=object_id)
        if obj.is_deleted or not self.has_change_permission(request, obj):
            raise PermissionDenied
        history_url = self._url("history", obj.pk)
        try:
            number, current = int(request.POST["number"]), int(request.POST["current"])
        except (KeyError, ValueError):
            return HttpResponseRedirect(history_url)
        versions = RecordVersion.objects.filter(
            object_type=self.kind_name, object_id=obj.pk, organization_id=obj.organization_id
        )
        past = versions.filter(number=number).first()
        latest = versions.order_by("-number").first()
        if past is None or latest is None:
            return HttpResponseRedirect(history_url)
        editable = set(self.form.update_serializer().fields)
        patch = history.restore_patch(latest.body, past.body, editable)
        if not patch:
            self.message_user(request, gettext("Nothing to restore: the values are the same."))
            return HttpResponseRedirect(history_url)
        try:
            self.service_update(obj, patch, IfMatch.exactly(current))
        except CRMError as error:
            self.report_crm_error(request, error, gettext("The values were not restored"))
            return HttpResponseRedirect(history_url)
        message = gettext("Version %(number)d's values were restored as a new version.")
        self.message_user(request, message % {"number": number}, messages.SUCCESS)
        return HttpResponseRedirect(history_url)

    def has_legal_hold_permission(self, request) -> bool:
        """Placing and lifting holds: the data-protection officer's (`staff.roles`)."""
        return request.user.has_perms(["crm.add_legalhold", "crm.delete_legalhold"])

    def legal_hold_view(self, request, object_id):
        """Place or lift a legal hold on one record, with a reason (both audited); while it
        stands, every erasure path refuses the record (`crm.lifecycle.holds`)."""
        if not self.has_legal_hold_permission(request):
            raise PermissionDenied
        obj = get_object_or_404(self.model.all_objects.only(*ERASURE_COLUMNS), pk=object_id)
        hold = holds.hold_of(obj)
        reason = request.POST.get("reason", "").strip()
        if request.method == "POST" and reason:
            try:
                if hold is None:
                    holds.place(obj, reason=reason, placed_by=request.user.get_username())
                    message = gettext("The legal hold was placed: no erasure can remove it now.")
                else:
                    holds.lift(obj, reason=reason)
                    message = gettext("The legal hold was lifted.")
            except holds.HoldError as error:
                self.message_user(request, str(error), messages.ERROR)
            else:
                self.message_user(request, message, messages.SUCCESS)
                return HttpResponseRedirect(self._url("change", obj.pk))
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Lift the legal hold") if hold else gettext("Place a legal hold"),
            "subtitle": self.display_name(obj),
            "hold": hold,
            "reason_missing": request.method == "POST" and not reason,
            "opts": self.model._meta,
            "original": obj,
            "change_url": self._url("change", obj.pk),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/crm/legal_hold.html", context)

    def document_view(self, request, object_id):
        """Reveal one record's full document (POST only) and record that this user viewed
        it: a `view_document` audit entry, before the document leaves the server."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        obj = get_object_or_404(self.model.all_objects, pk=object_id)
        if not self.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        lifecycle.record(obj, AuditEntry.Action.VIEW_DOCUMENT, ["document"])
        return JsonResponse({"document": obj.document})

    def erasure_details(self, obj) -> list[str]:
        """Extra details of a selected record on the confirmation page (e.g. a masked
        document); the plan itself carries only plaintext columns."""
        return []

    def _erasure_rows(self, plan: lifecycle.ErasurePlan, objects) -> list[dict[str, Any]]:
        selected = {obj.pk: obj for obj in objects}
        names: dict[Any, str] = {}  # every record of the plan as staff know it
        for kind_name in {record.kind for record in plan.records}:
            with contextlib.suppress(DecryptionError):
                ids = [record.id for record in plan.records if record.kind == kind_name]
                names.update(record_names(kind_name, ids))
        rows = []
        for record in plan.records:
            details = _plain_details(record)
            if record.id in names:
                details.insert(0, names[record.id])
            if record.id in selected:
                # A lost key: the masked document is left off, the plan is shown all the same.
                with contextlib.suppress(DecryptionError):
                    details = [*self.erasure_details(selected[record.id]), *details]
            rows.append(
                {
                    "label": record.label,
                    "id": record.id,
                    "url": record_change_url(record.kind, record.id, self.admin_site),
                    "details": " · ".join(details),
                    "deleted": record.deleted,
                    "depth": record.depth,
                }
            )
        return rows

    def hold_rows(self, plan: lifecycle.ErasurePlan) -> list[dict[str, Any]]:
        """The legal holds that keep `plan` from being erased, linked to their records."""
        return [
            {
                "label": lifecycle.kind(hold.object_type).label,
                "url": record_change_url(hold.object_type, hold.object_id, self.admin_site),
                "hold": hold,
            }
            for hold in lifecycle.held_by(plan)
        ]

    def _confirmation_page(self, request, objects, *, action: bool):
        plan = lifecycle.plan_erasure(self.kind_name, [obj.pk for obj in objects])
        rows = self._erasure_rows(plan, objects)
        posted = request.method == "POST" and request.POST.get("post") == "yes"
        context = {
            "holds": self.hold_rows(plan),
            "approval": erasure_requests.approval_required(),
            "waiting": [
                {"request": waiting, "url": erasure_requests.request_url(waiting)}
                for waiting in approval.pending_requests(
                    self.kind_name, [obj.pk for obj in objects]
                )
            ],
            **self.admin_site.each_context(request),
            "title": gettext("Erase for good? This cannot be undone"),
            "subtitle": self.display_name(objects[0]) if len(objects) == 1 else None,
            "reason_missing": posted and not request.POST.get("reason", "").strip(),
            "rows": rows,
            "record_count": len(rows),
            "opts": self.model._meta,
            "action": "hard_delete_selected" if action else None,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "selected_ids": [str(obj.pk) for obj in objects],
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/crm/hard_delete_confirmation.html", context)
