"""Back-office building blocks shared by the holder and alias admins, and the admin of the
kernel's own models (the audit trail, API tokens).

The domain admins hold no business logic: their forms turn form fields into the wire-shaped
(camelCase) dict the API accepts, validate it with the API's own serializers and call the same
services. This module provides the pieces for that:

* `WireField` / `WireFormMixin`: flat, JSON-free form fields mapped to paths of the wire shape,
  initial values from a wire document, a minimal merge patch from the changed fields, and CRM
  errors (`fields` with dotted paths) attached to the matching form fields.
* `StateFilter` (live / deleted / all, default live) and `OrganizationFilter` for registry rows
  (admin querysets use `all_objects`).
* `RegistryAdmin`: Django's stock delete disabled (it would bypass CRM-0017 and the erasure
  rules), and the history page replaced by the object's `AuditEntry` rows (who, when, action,
  field names; never values).
* `mask_document` for list pages.
"""

import dataclasses
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from crm.auth import issue_token
from crm.errors import CRMError
from crm.models import ApiToken, AuditEntry

# --- Masking -------------------------------------------------------------------------------------


def mask_document(document: str | None) -> str:
    """Show only the end of a tax document: `***.***.789-00` (CPF), `**.***.***/0001-95`
    (CNPJ), `*******1234` otherwise."""
    if not document:
        return ""
    compact = "".join(char for char in document if char.isalnum())
    if len(compact) == 11 and compact.isdigit():
        return f"***.***.{compact[6:9]}-{compact[9:]}"
    if len(compact) == 14:
        return f"**.***.***/{compact[8:12]}-{compact[12:]}"
    visible = compact[-4:] if len(compact) > 4 else ""
    return "*" * max(len(compact) - len(visible), 3) + visible


# --- Wire-shaped forms -------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class WireField:
    """One form field bound to a path in the wire document, e.g. ("contact", "primaryEmail")."""

    path: tuple[str, ...]
    field: Callable[[], forms.Field]

    @property
    def name(self) -> str:
        return "__".join(self.path)


def wire_form(name: str, base: type, specs: Iterable[WireField]) -> type:
    """A form class with one declared field per spec (declared, so ModelAdmin accepts them in
    its fieldsets)."""
    return type(name, (base,), {spec.name: spec.field() for spec in specs})


def adopt(target, source) -> None:
    """Make the admin's `obj` the row the service wrote (same id, values, saved state), so
    Django's log entry and redirect point at it."""
    for field in source._meta.concrete_fields:
        setattr(target, field.attname, getattr(source, field.attname))
    target._state.adding = False
    target._state.db = source._state.db


def text(label: str, max_length: int = 256, **kwargs: Any) -> Callable[[], forms.Field]:
    return lambda: forms.CharField(
        label=label, max_length=max_length, required=False, strip=True, **kwargs
    )


def date(label: str) -> Callable[[], forms.Field]:
    return lambda: forms.DateField(
        label=label, required=False, widget=admin.widgets.AdminDateWidget
    )


def country(label: str = "Country") -> Callable[[], forms.Field]:
    from crm.countries import ISO_3166_ALPHA2

    choices = [("", "—"), *((code, code) for code in sorted(ISO_3166_ALPHA2))]
    return lambda: forms.ChoiceField(label=label, required=False, choices=choices)


def _get(document: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(document, dict):
            return None
        document = document.get(key)
    return document


def _set(document: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        document = document.setdefault(key, {})
    document[path[-1]] = value


def _to_wire(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def metadata_text(metadata: dict[str, Any] | None) -> str:
    """Flat metadata as `key = value` lines (the JSON-free metadata widget)."""

    def scalar(value: Any) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    return "\n".join(f"{key} = {scalar(value)}" for key, value in (metadata or {}).items())


def parse_metadata(text_value: str) -> dict[str, str]:
    """`key = value` lines back to a dict; raises `forms.ValidationError` on a bad line."""
    result: dict[str, str] = {}
    for number, line in enumerate(text_value.splitlines(), start=1):
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise forms.ValidationError(f"Line {number}: write it as `key = value`.")
        result[key.strip()] = value.strip()
    return result


def metadata_patch(before: dict[str, Any] | None, after: dict[str, str]) -> dict[str, Any]:
    """Merge patch from the stored metadata to the edited lines: removed keys -> null, changed
    keys -> new value. A value whose text did not change keeps its JSON type (number, bool)."""
    before = before or {}
    patch: dict[str, Any] = {key: None for key in before if key not in after}
    for key, value in after.items():
        if key in before and metadata_text({key: before[key]}) == f"{key} = {value}":
            continue
        patch[key] = value
    return patch


METADATA_ERRORS = frozenset({"CRM-0001", "CRM-0002", "CRM-0012"})


class WireFormMixin:
    """For a `forms.Form`/`ModelForm` whose fields are declared by `wire_fields` (see
    `wire_form`).

    `wire_initial(state)` fills the fields from a wire document; `wire_values()` /
    `wire_changes(before)` return the input as a wire document / a merge patch of the changed
    fields (`None` removes); `add_crm_error(exc)` shows a CRM error as form errors, and
    `service_error` (set by `RegistryAdmin` when the service refused the last attempt) is
    shown by `clean()`.
    """

    wire_fields: tuple[WireField, ...] = ()
    metadata_field = "metadata"
    service_error: CRMError | None = None

    def clean(self):
        cleaned = super().clean()
        if self.service_error is not None and not self.errors:
            self.add_crm_error(self.service_error)
        return cleaned

    def wire_initial(self, state: dict[str, Any]) -> None:
        for spec in self.wire_fields:
            value = _get(state, spec.path)
            if value is not None:
                self.initial[spec.name] = value
        if self.metadata_field in self.fields:
            self.initial[self.metadata_field] = metadata_text(state.get("metadata"))

    def wire_values(self) -> dict[str, Any]:
        """Every non-empty field in wire shape (for create)."""
        document: dict[str, Any] = {}
        for spec in self.wire_fields:
            value = self.cleaned_data.get(spec.name)
            if value not in (None, ""):
                _set(document, spec.path, _to_wire(value))
        return document

    def wire_changes(self, before: dict[str, Any]) -> dict[str, Any]:
        """The changed fields as a JSON merge patch against `before` (for update)."""
        patch: dict[str, Any] = {}
        changed = set(self.changed_data)
        for spec in self.wire_fields:
            if spec.name not in changed:
                continue
            value = self.cleaned_data.get(spec.name)
            _set(patch, spec.path, None if value in (None, "") else _to_wire(value))
        if self.metadata_field in changed:
            meta = metadata_patch(before.get("metadata"), self.cleaned_data[self.metadata_field])
            if meta:
                patch["metadata"] = meta
        return patch

    def add_crm_error(self, error: CRMError) -> None:
        """Attach a CRM error to the form fields its `fields` name (dotted wire paths)."""
        fields = error.fields or {}
        if not fields and error.code in METADATA_ERRORS and self.metadata_field in self.fields:
            self.add_error(self.metadata_field, error.message)
            return
        placed = False
        for wire_path, message in fields.items():
            name = wire_path.replace(".", "__")
            if wire_path.startswith("metadata") and self.metadata_field in self.fields:
                name = self.metadata_field
            if name in self.fields:
                self.add_error(name, message)
                placed = True
        if not placed:
            detail = "; ".join(f"{key}: {message}" for key, message in fields.items())
            self.add_error(None, f"{error.spec.title} ({error.code}): {detail or error.message}")


def metadata_form_field() -> forms.CharField:
    return forms.CharField(
        label="Metadata",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60, "placeholder": "segment = retail"}),
        help_text="One entry per line, written as <code>key = value</code>. "
        "Remove a line to remove the key.",
    )


# --- List filters ----------------------------------------------------------------------------


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
            return queryset.filter(deleted_at__isnull=False)
        if state == "all":
            return queryset
        return queryset.filter(deleted_at__isnull=True)


class OrganizationFilter(admin.SimpleListFilter):
    """The organizations present in the table (one `DISTINCT` query)."""

    title = "organization"
    parameter_name = "organization"

    def lookups(self, request, model_admin):
        organizations = (
            model_admin.model.all_objects.order_by()
            .values_list("organization_id", flat=True)
            .distinct()
        )
        return [(str(org), str(org)) for org in sorted(organizations, key=str)]

    def queryset(self, request, queryset):
        organization = selected_organization(request)
        if organization is not None:
            return queryset.filter(organization_id=organization)
        return queryset


def selected_organization(request) -> uuid.UUID | None:
    value = request.GET.get(OrganizationFilter.parameter_name)
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


def short_id(value: Any, url: str | None = None):
    """A UUID shortened for list columns (`01a1fc3f…0879`); the full value in the tooltip."""
    text_value = str(value)
    short = f"{text_value[:8]}…{text_value[-4:]}" if len(text_value) > 13 else text_value
    if url:
        return format_html('<a href="{}" title="{}">{}</a>', url, text_value, short)
    return format_html('<span title="{}">{}</span>', text_value, short)


def state_label(obj) -> str:
    return "deleted" if obj.deleted_at else "live"


def state_badge(obj):
    state = state_label(obj)
    return format_html('<span class="crm-state crm-state-{}">{}</span>', state, state)


# --- Registry admin base ---------------------------------------------------------------------


class RegistryAdmin(admin.ModelAdmin):
    """Base of the holder and alias admins.

    * Writes go through the services in `save_model` / `save_formset`. The form has already
      validated its input with the API serializers; a refusal that only the service can decide
      (a duplicate document or account id, a record deleted meanwhile, ...) raises `CRMError`,
      which rolls back the admin's transaction; the page is then rendered again with the
      error attached to the form (`service_error`), never a 500.
    * Django's stock delete is off: `has_delete_permission` is False and `delete_selected` is
      removed; deletions go through the soft delete / restore / hard delete actions, which call
      the services (so CRM-0017 and the erasure rules apply).
    * `history_view` shows the object's audit trail (`AuditEntry`).
    """

    audit_object_type = ""
    change_form_template = "admin/crm/registry_change_form.html"
    save_as = False
    show_full_result_count = False

    def get_queryset(self, request):
        return self.model.all_objects.all()

    # List columns shared by every registry model.
    @admin.display(description="id", ordering="id")
    def record_id(self, obj):
        opts = obj._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
        return short_id(obj.pk, url)

    @admin.display(description="organization")
    def organization(self, obj):
        return short_id(obj.organization_id)

    @admin.display(description="created (UTC)", ordering="created_at")
    def created(self, obj) -> str:
        return obj.created_at.strftime("%Y-%m-%d %H:%M")

    @admin.display(description="state")
    def state(self, obj):
        return state_badge(obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        form.service_error = getattr(request, "_crm_service_error", None)
        return form

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if object_id is not None:
            extra_context = {
                **self.changeform_view_context(request, object_id),
                **(extra_context or {}),
            }
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except CRMError as error:
            if request.method != "POST" or getattr(request, "_crm_service_error", None):
                raise
            request._crm_service_error = error
            return super().changeform_view(request, object_id, form_url, extra_context)

    def history_view(self, request, object_id, extra_context=None):
        obj = self.model.all_objects.filter(pk=_uuid_or_none(object_id)).first()
        if obj is not None and not self.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        if obj is None and not self.has_view_or_change_permission(request):
            raise PermissionDenied
        entries = AuditEntry.objects.filter(
            object_type=self.audit_object_type, object_id=_uuid_or_none(object_id)
        )
        opts = self.model._meta
        context = {
            **self.admin_site.each_context(request),
            "title": f"History: {self.model._meta.verbose_name} {object_id}",
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

    # --- deletion --------------------------------------------------------------------------
    # Subclasses implement `service_soft_delete(obj)`, `service_restore(obj)`,
    # `service_hard_delete(obj) -> {object_type: [erased ids]}`, `erasure_rows(obj)` (what the
    # confirmation page lists) and `erased_models()` ({object_type: model}).

    hard_delete_permission = ""  # "app_label.codename"

    def has_hard_delete_permission(self, request) -> bool:
        return request.user.has_perm(self.hard_delete_permission)

    def _url_name(self, suffix: str) -> str:
        return f"{self.opts.app_label}_{self.opts.model_name}_{suffix}"

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path(
                "<uuid:object_id>/soft-delete/",
                wrap(self.soft_delete_view),
                name=self._url_name("soft_delete"),
            ),
            path(
                "<uuid:object_id>/restore/",
                wrap(self.restore_view),
                name=self._url_name("restore"),
            ),
            path(
                "<uuid:object_id>/hard-delete/",
                wrap(self.hard_delete_view),
                name=self._url_name("hard_delete"),
            ),
            *super().get_urls(),
        ]

    def changeform_view_context(self, request, object_id) -> dict[str, Any]:
        obj = self.model.all_objects.filter(pk=_uuid_or_none(object_id)).first()
        if obj is None:
            return {}
        context = {
            "can_hard_delete": self.has_hard_delete_permission(request),
            "is_deleted": obj.deleted_at is not None,
            "soft_delete_url": reverse(f"admin:{self._url_name('soft_delete')}", args=[obj.pk]),
            "restore_url": reverse(f"admin:{self._url_name('restore')}", args=[obj.pk]),
            "hard_delete_url": reverse(f"admin:{self._url_name('hard_delete')}", args=[obj.pk]),
        }
        if obj.deleted_at is not None:
            context.update(
                show_save=False, show_save_and_continue=False, show_save_and_add_another=False
            )
        return context

    def _run(self, request, obj, operation, done: str, failed: str) -> bool:
        try:
            operation(obj)
        except CRMError as error:
            self.report_crm_error(request, error, f"{obj} {failed}")
            return False
        self.log_change(request, obj, done)
        return True

    def _soft_delete(self, request, obj) -> bool:
        return self._run(request, obj, self.service_soft_delete, "Soft-deleted.", "was not deleted")

    def _restore(self, request, obj) -> bool:
        return self._run(request, obj, self.service_restore, "Restored.", "was not restored")

    def _hard_delete(self, request, obj) -> bool:
        try:
            self.service_hard_delete(obj)
        except CRMError as error:
            self.report_crm_error(request, error, f"{obj} was not erased")
            return False
        return True

    @admin.action(
        description="Soft-delete selected %(verbose_name_plural)s", permissions=["change"]
    )
    def soft_delete_selected(self, request, queryset):
        done = sum(self._soft_delete(request, obj) for obj in queryset.filter(deleted_at=None))
        if done:
            self.message_user(request, f"Soft-deleted {done} record(s).", messages.SUCCESS)

    @admin.action(description="Restore selected %(verbose_name_plural)s", permissions=["change"])
    def restore_selected(self, request, queryset):
        done = sum(self._restore(request, obj) for obj in queryset.filter(deleted_at__isnull=False))
        if done:
            self.message_user(request, f"Restored {done} record(s).", messages.SUCCESS)

    @admin.action(
        description="Hard-delete (erase for good) selected %(verbose_name_plural)s…",
        permissions=["hard_delete"],
    )
    def hard_delete_selected(self, request, queryset):
        objects = list(queryset)
        if request.POST.get("post") == "yes":
            erased = sum(self._hard_delete(request, obj) for obj in objects)
            if erased:
                self.message_user(request, f"Erased {erased} record(s).", messages.SUCCESS)
            return None
        return self._confirmation_page(request, objects, action=True)

    def soft_delete_view(self, request, object_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        obj = self._get_for_change(request, object_id)
        if self._soft_delete(request, obj):
            self.message_user(request, f"{obj} was soft-deleted.", messages.SUCCESS)
        return self._back_to_change(obj)

    def restore_view(self, request, object_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        obj = self._get_for_change(request, object_id)
        if self._restore(request, obj):
            self.message_user(request, f"{obj} was restored.", messages.SUCCESS)
        return self._back_to_change(obj)

    def hard_delete_view(self, request, object_id):
        if not self.has_hard_delete_permission(request):
            raise PermissionDenied
        obj = get_object_or_404(self.model.all_objects, pk=object_id)
        if request.method == "POST" and request.POST.get("post") == "yes":
            if self._hard_delete(request, obj):
                self.message_user(request, f"{obj} was erased.", messages.SUCCESS)
                return HttpResponseRedirect(reverse(f"admin:{self._url_name('changelist')}"))
            return self._back_to_change(obj)
        return self._confirmation_page(request, [obj], action=False)

    def _get_for_change(self, request, object_id):
        obj = get_object_or_404(self.model.all_objects, pk=object_id)
        if not self.has_change_permission(request, obj):
            raise PermissionDenied
        return obj

    def _back_to_change(self, obj):
        return HttpResponseRedirect(reverse(f"admin:{self._url_name('change')}", args=[obj.pk]))

    def _confirmation_page(self, request, objects, *, action: bool):
        rows = [row for obj in objects for row in self.erasure_rows(obj)]
        context = {
            **self.admin_site.each_context(request),
            "title": "Erase for good? This cannot be undone",
            "rows": rows,
            "record_count": len(rows),
            "opts": self.model._meta,
            "action": "hard_delete_selected" if action else None,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "selected_ids": [str(obj.pk) for obj in objects],
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/crm/hard_delete_confirmation.html", context)

    def report_crm_error(self, request, error: CRMError, subject: str) -> None:
        self.message_user(
            request,
            f"{subject}: {error.spec.title} ({error.code}). {error.message}",
            messages.ERROR,
        )


def _uuid_or_none(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


# Lists are wide: the whole screen goes to the table, not the app navigation sidebar.
admin.site.enable_nav_sidebar = False
admin.site.site_header = "CRM back-office"
admin.site.site_title = "CRM back-office"
admin.site.index_title = "Customer registry"

# --- Audit trail -------------------------------------------------------------------------------


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """The audit trail, read-only: who did what to which object, with field names only."""

    list_display = (
        "created_at",
        "actor_type",
        "actor",
        "action",
        "object_type",
        "object_id",
        "changed_field_names",
        "organization_id",
    )
    list_filter = ("action", "object_type", "actor_type")
    search_fields = ("=object_id", "=actor", "=request_id", "=organization_id")
    search_help_text = "Exact object id, actor, request id or organization id."
    list_per_page = 50
    show_full_result_count = False
    date_hierarchy = "created_at"

    @admin.display(description="changed fields")
    def changed_field_names(self, entry: AuditEntry) -> str:
        return ", ".join(entry.changed_fields or [])

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


# --- API tokens ----------------------------------------------------------------------------------

PERMISSION_CHOICES = [
    (f"{resource}:{action}", f"{resource}: {action}")
    for resource in ApiToken.RESOURCES
    for action in ApiToken.ACTIONS
]


class ApiTokenForm(forms.ModelForm):
    organizations = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 40}),
        help_text="Organization UUIDs, one per line (ignored when “all organizations” is on).",
    )
    permissions = forms.MultipleChoiceField(
        required=False, choices=PERMISSION_CHOICES, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = ApiToken
        fields = ("name", "is_active", "all_organizations", "organizations", "permissions")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["organizations"] = "\n".join(self.instance.organizations or [])

    def clean_organizations(self) -> list[str]:
        organizations = []
        for line in self.cleaned_data["organizations"].split():
            try:
                organizations.append(str(uuid.UUID(line)))
            except ValueError:
                raise forms.ValidationError(f"Not a UUID: {line[:40]}") from None
        return organizations


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Integration credentials. The secret is shown once, on creation (or rotation), and only
    its hash is kept."""

    form = ApiTokenForm
    list_display = ("name", "key_prefix", "is_active", "all_organizations", "scope", "created_at")
    list_filter = ("is_active", "all_organizations")
    search_fields = ("name", "=key_prefix")
    readonly_fields = ("key_prefix", "created_at")
    actions = ("rotate_secret",)

    @admin.display(description="permissions")
    def scope(self, token: ApiToken) -> str:
        return ", ".join(token.permissions or [])

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            request._issued_secret = issue_token(obj)
        super().save_model(request, obj, form, change)

    def response_add(self, request, obj, post_url_continue=None):
        secret = getattr(request, "_issued_secret", None)
        if secret is None:
            return super().response_add(request, obj, post_url_continue)
        return self._secret_page(request, obj, secret)

    @admin.action(description="Rotate the secret of the selected token", permissions=["change"])
    def rotate_secret(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one token to rotate.", messages.WARNING)
            return None
        token = queryset.get()
        secret = issue_token(token)
        token.save(update_fields=["key_hash", "key_prefix"])
        self.log_change(request, token, "Rotated the secret.")
        return self._secret_page(request, token, secret)

    def _secret_page(self, request, token: ApiToken, secret: str):
        context = {
            **self.admin_site.each_context(request),
            "title": "API token secret",
            "token": token,
            "secret": secret,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/crm/apitoken/secret.html", context)
