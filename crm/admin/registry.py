"""`RegistryAdmin`: the base of the holder and alias admins, a thin client of the services.

* **Writes** go through the services: `save_model` hands the form's validated `payload` to
  `service_create` / `service_update`. A refusal only the service can decide (a record
  deleted or taken meanwhile, ...) is reported with `message_user`, everything the request
  wrote is rolled back, and the form page is shown again — never a 500, never a half-write.
* **Deletion**: Django's stock delete is off (it would bypass CRM-0017 and the erasure
  rules). Soft delete and restore call the services; hard delete shows the lifecycle core's
  erasure plan on a confirmation page (the same plan `manage.py hard_delete` prints) and then
  erases exactly that selection through `crm.lifecycle.erase`.
* **History** is the object's audit trail (`AuditEntry`: who, when, which fields).
* **Permissions** beyond Django's add/change/view, one per step (`<step>_<model>` in the
  models' `Meta.permissions`, given to the ready-made roles by `staff`): `soft_delete`
  (soft delete and restore), `export` (CSV download, `crm.admin.export`) and `hard_delete`.
"""

from functools import partial
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from crm import lifecycle
from crm.admin import export
from crm.admin.counting import EstimatedCountPaginator
from crm.admin.lists import OrganizationFilter, StateFilter, mask_document, short_id, state_badge
from crm.errors import CRMError
from crm.ids import parse_uuid
from crm.models import AuditEntry

SAVE_BUTTONS = ("show_save", "show_save_and_continue", "show_save_and_add_another")


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


class RegistryAdmin(admin.ModelAdmin):
    """Subclasses implement `service_create(form)`, `service_update(obj, payload)`,
    `service_soft_delete(obj)` and `service_restore(obj)`, and may add to an erasure plan's
    details with `erasure_details(obj)`."""

    kind_name = ""  # the lifecycle kind ("holder", "alias")
    hard_delete_permission = ""  # "app_label.codename"
    list_defer: tuple[str, ...] = ()  # encrypted columns a list page need not decrypt
    change_form_template = "admin/crm/registry_change_form.html"
    save_as = False
    # Counts: never a COUNT(*) of the whole table (`crm.admin.counting`); no per-choice counts.
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    paginator = EstimatedCountPaginator
    list_display_links = None
    list_filter = ("type", OrganizationFilter, StateFilter)
    list_per_page = 50
    list_max_show_all = 50  # "Show all" never reads (and decrypts) more than one page
    ordering = ("-id",)
    search_fields = ("id",)  # shows the search box; `get_search_results` does the searching
    actions = (
        "soft_delete_selected",
        "restore_selected",
        "export_selected",
        "hard_delete_selected",
    )
    change_list_template = "admin/crm/registry_change_list.html"
    inlines_near_top = False  # inlines right after the first section instead of at the end
    export_columns: tuple[tuple[str, ...], ...] = ()  # wire paths, one CSV column each
    record_fields = ("id", "organization_id", "created_at", "updated_at", "deleted_at")

    def get_queryset(self, request):
        return self.model.all_objects.all()

    def get_changelist(self, request, **kwargs):
        defer = self.list_defer

        class RegistryChangeList(ChangeList):
            def get_queryset(self, request, exclude_parameters=None):
                return super().get_queryset(request, exclude_parameters).defer(*defer)

        return RegistryChangeList

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
        return short_id(obj.organization_id)

    @admin.display(description=_("created (UTC)"), ordering="created_at")
    def created(self, obj) -> str:
        return obj.created_at.strftime("%Y-%m-%d %H:%M")

    @admin.display(description=_("state"))
    def state(self, obj):
        return state_badge(obj)

    @admin.display(description=_("document"))
    def masked_document(self, obj) -> str:
        return mask_document(obj.document)

    @admin.display(description=_("document"))
    def full_document(self, obj) -> str:
        return obj.document

    # --- writes through the services -------------------------------------------------------

    def save_model(self, request, obj, form, change) -> None:
        try:
            if not change:
                written = self.service_create(form)
            elif form.payload:
                written = self.service_update(obj, form.payload)
            else:
                return
        except CRMError as error:
            self.refuse(request, error)
        adopt(obj, written)

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
        fields = "; ".join(f"{name}: {message}" for name, message in (error.fields or {}).items())
        self.message_user(
            request,
            f"{subject}: {error.spec.title} ({error.code}). {fields or error.message}",
            messages.ERROR,
        )

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
        opts = self.model._meta
        context = {
            **self.admin_site.each_context(request),
            "title": f"History: {opts.verbose_name} {object_id}",
            "subtitle": None,
            "entries": entries,
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
        own = [
            path(
                f"<uuid:object_id>/{name.replace('_', '-')}/", wrap(view), name=self._url_name(name)
            )
            for name, view in views.items()
        ]
        own.append(path("export/", wrap(self.export_view), name=self._url_name("export")))
        return [*own, *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            "can_export": self.has_export_permission(request),
            "export_url": reverse(f"admin:{self._url_name('export')}"),
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra_context)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        obj = object_id and self.model.all_objects.filter(pk=parse_uuid(str(object_id))).first()
        if obj:
            extra_context = {
                "can_hard_delete": self.has_hard_delete_permission(request),
                "can_soft_delete": self.has_soft_delete_permission(request, obj),
                "inlines_near_top": self.inlines_near_top,
                **self.inlines_more(obj),
                "is_deleted": obj.is_deleted,
                "soft_delete_url": self._url("soft_delete", obj.pk),
                "restore_url": self._url("restore", obj.pk),
                "hard_delete_url": self._url("hard_delete", obj.pk),
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
        service, log_message, _many, _one, failed = self.STATE_CHANGES[change]
        if not self.has_soft_delete_permission(request, obj):
            raise PermissionDenied
        try:
            getattr(self, service)(obj)
        except CRMError as error:
            self.report_crm_error(request, error, failed % {"object": obj})
            return False
        self.log_change(request, obj, log_message)
        return True

    def _change_selected(self, request, queryset, change: str) -> None:
        done = sum(self._change_state(request, obj, change) for obj in queryset)
        if done:
            many = self.STATE_CHANGES[change][2]
            self.message_user(request, many % {"count": done}, messages.SUCCESS)

    def _erase(self, request, objects) -> int:
        """Erase the selection through the lifecycle core (one transaction)."""
        try:
            plan = lifecycle.plan_erasure(self.kind_name, [obj.pk for obj in objects])
            erased = lifecycle.erase(plan)
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
        selection = "filters" if request.POST.get("select_across") == "1" else "ticked"
        return self._export(request, queryset, selection)

    def export_view(self, request):
        """The list's "Export CSV" button: the whole list as filtered and searched now."""
        if not self.has_export_permission(request):
            raise PermissionDenied
        try:
            queryset = self.get_changelist_instance(request).get_queryset(request)
        except IncorrectLookupParameters:
            return HttpResponseRedirect(reverse(f"admin:{self._url_name('changelist')}"))
        return self._export(request, queryset, "filters")

    def _export(self, request, queryset, selection: str):
        return export.csv_response(
            request,
            self.export_queryset(queryset.defer(None)),
            object_type=self.kind_name,
            columns=self.export_columns,
            row=self.export_row,
            selection=selection,
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
        objects = list(queryset)
        if request.POST.get("post") == "yes":
            erased = self._erase(request, objects)
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
            self.message_user(request, one % {"object": obj}, messages.SUCCESS)
        return HttpResponseRedirect(self._url("change", obj.pk))

    def hard_delete_view(self, request, object_id):
        if not self.has_hard_delete_permission(request):
            raise PermissionDenied
        obj = get_object_or_404(self.model.all_objects, pk=object_id)
        if request.method == "POST" and request.POST.get("post") == "yes":
            if self._erase(request, [obj]):
                message = gettext("%(object)s was erased.") % {"object": obj}
                self.message_user(request, message, messages.SUCCESS)
                return HttpResponseRedirect(reverse(f"admin:{self._url_name('changelist')}"))
            return HttpResponseRedirect(self._url("change", obj.pk))
        return self._confirmation_page(request, [obj], action=False)

    def erasure_details(self, obj) -> list[str]:
        """Extra details of a selected record on the confirmation page (e.g. a masked
        document); the plan itself carries only plaintext columns."""
        return []

    def _erasure_rows(self, plan: lifecycle.ErasurePlan, objects) -> list[dict[str, Any]]:
        selected = {obj.pk: obj for obj in objects}
        rows = []
        for record in plan.records:
            details = [
                f"{name.replace('_', ' ')} {value}" for name, value in record.details.items()
            ]
            if record.id in selected:
                details = [*self.erasure_details(selected[record.id]), *details]
            rows.append(
                {
                    "label": record.label,
                    "id": record.id,
                    "url": self._record_url(record),
                    "details": " · ".join(details),
                    "deleted": record.deleted,
                    "depth": record.depth,
                }
            )
        return rows

    def _record_url(self, record: lifecycle.PlannedRecord) -> str | None:
        if record.kind not in {kind.name for kind in lifecycle.kinds()}:
            return None
        model = lifecycle.kind(record.kind).model
        if not self.admin_site.is_registered(model):
            return None
        opts = model._meta
        return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[record.id])

    def _confirmation_page(self, request, objects, *, action: bool):
        plan = lifecycle.plan_erasure(self.kind_name, [obj.pk for obj in objects])
        rows = self._erasure_rows(plan, objects)
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Erase for good? This cannot be undone"),
            "rows": rows,
            "record_count": len(rows),
            "opts": self.model._meta,
            "action": "hard_delete_selected" if action else None,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "selected_ids": [str(obj.pk) for obj in objects],
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/crm/hard_delete_confirmation.html", context)
