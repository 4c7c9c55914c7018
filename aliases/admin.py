"""Alias account back-office (CONTRACT §8), and the holder page's inline list of aliases.

Search by alias or holder id, account id, ledger id, banking account / IBAN, holder document,
participant or related-party document (the last four through their search hashes); filters by
type, organization and state. The change form edits banking details, regulatory fields and
metadata (validated by the API serializers, written by `aliases.services`); related parties
are listed read-only with a remove box, and new ones are added in a second inline (parties
are appended or removed, never edited in place, as in the API).
"""

import uuid
from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Q
from django.urls import reverse
from django.utils.html import format_html

from aliases import services
from aliases.models import (
    BANKING_ACCOUNT_FIELD,
    BANKING_IBAN_FIELD,
    DOCUMENT_FIELD,
    PARTICIPANT_DOCUMENT_FIELD,
    RELATED_PARTY_DOCUMENT_FIELD,
    AliasAccount,
    RelatedParty,
)
from aliases.serializers import (
    AliasCreateSerializer,
    AliasUpdateSerializer,
    RelatedPartyInputSerializer,
)
from crm.admin import (
    OrganizationFilter,
    RegistryAdmin,
    StateFilter,
    WireField,
    WireFormMixin,
    adopt,
    date,
    mask_document,
    metadata_form_field,
    parse_metadata,
    selected_organization,
    state_badge,
    text,
    wire_form,
)
from crm.errors import CRMError
from crm.search import canonical, lookup_hashes
from crm.serializers import validate_input
from holders.admin import HolderAdmin
from holders.models import Holder

BANKING = (
    WireField(("bankingDetails", "branch"), text("Branch")),
    WireField(("bankingDetails", "account"), text("Account")),
    WireField(("bankingDetails", "type"), text("Account type", 50)),
    WireField(("bankingDetails", "openingDate"), date("Opening date")),
    WireField(("bankingDetails", "closingDate"), date("Closing date")),
    WireField(("bankingDetails", "iban"), text("IBAN", 64)),
    WireField(("bankingDetails", "countryCode"), text("Country code")),
    WireField(("bankingDetails", "bankId"), text("Bank id")),
)
REGULATORY = (WireField(("regulatoryFields", "participantDocument"), text("Participant document")),)
WIRE_FIELDS = BANKING + REGULATORY
ADD_ONLY = ("holder_id", "ledgerId", "accountId")


class AliasFormBase(WireFormMixin, forms.ModelForm):
    """Flat fields <-> the alias wire shape; validated by the API serializers in `clean()`,
    written by `AliasAccountAdmin.save_model` through the services."""

    wire_fields = WIRE_FIELDS

    holder_id = forms.UUIDField(label="Holder id", help_text="The live holder to link.")
    ledgerId = forms.CharField(label="Ledger id", max_length=256)
    accountId = forms.CharField(label="Account id", max_length=256)
    metadata = metadata_form_field()

    class Meta:
        model = AliasAccount
        fields: tuple[str, ...] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.adding = self.instance._state.adding
        self.payload: dict[str, Any] = {}
        shown = set(self._meta.fields or ())
        for name in list(self.fields):
            if name not in shown or (not self.adding and name in ADD_ONLY):
                del self.fields[name]
        if not self.adding:
            self.before = services.alias_state(self.instance)
            self.wire_initial(self.before)
            if self.instance.deleted_at is not None:
                for field in self.fields.values():
                    field.disabled = True

    def clean_metadata(self) -> dict[str, str]:
        return parse_metadata(self.cleaned_data.get("metadata") or "")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            if self.adding:
                holder = Holder.objects.filter(pk=cleaned["holder_id"]).first()
                if holder is None:
                    self.add_error("holder_id", "No live holder with this id.")
                    return cleaned
                self.organization_id = holder.organization_id
                data = {
                    "ledgerId": cleaned["ledgerId"],
                    "accountId": cleaned["accountId"],
                    **self.wire_values(),
                }
                if cleaned.get("metadata"):
                    data["metadata"] = cleaned["metadata"]
                self.payload = validate_input(AliasCreateSerializer, data)
            else:
                patch = self.wire_changes(self.before)
                self.payload = validate_input(AliasUpdateSerializer, patch) if patch else {}
        except CRMError as error:
            self.add_crm_error(error)
        return cleaned


AliasForm = wire_form("AliasForm", AliasFormBase, WIRE_FIELDS)


# --- related parties ---------------------------------------------------------------------------


class _AliasPermissionsInline:
    """Inline rows of an alias are governed by the alias permissions."""

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.has_perm("aliases.view_aliasaccount") or self.has_change_permission(
            request, obj
        )

    def has_change_permission(self, request, obj=None) -> bool:
        return request.user.has_perm("aliases.change_aliasaccount") and not (
            obj is not None and obj.deleted_at is not None
        )

    def has_add_permission(self, request, obj=None) -> bool:
        return self.has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self.has_change_permission(request, obj)


class RelatedPartyInline(_AliasPermissionsInline, admin.TabularInline):
    """The alias's parties, read-only; "remove" calls `related_party_remove`."""

    model = RelatedParty
    verbose_name = "related party"
    verbose_name_plural = "Related parties (tick “Delete?” to remove a party)"
    fields = ("party_id", "masked_document", "name", "role", "start_date", "end_date")
    readonly_fields = fields
    extra = 0
    max_num = 0  # no blank rows here: new parties go in the next inline

    @admin.display(description="id")
    def party_id(self, party: RelatedParty) -> str:
        return str(party.pk)

    @admin.display(description="document")
    def masked_document(self, party: RelatedParty) -> str:
        return mask_document(party.document)

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class NewRelatedPartyForm(forms.ModelForm):
    party_document = forms.CharField(label="Document", max_length=256)

    class Meta:
        model = RelatedParty
        fields = ("name", "role", "start_date", "end_date")
        widgets = {
            "start_date": admin.widgets.AdminDateWidget,
            "end_date": admin.widgets.AdminDateWidget,
        }

    def wire(self) -> dict[str, Any]:
        party = {
            "document": self.cleaned_data["party_document"],
            "name": self.cleaned_data["name"],
            "role": self.cleaned_data["role"],
            "startDate": self.cleaned_data["start_date"].isoformat(),
        }
        if self.cleaned_data.get("end_date"):
            party["endDate"] = self.cleaned_data["end_date"].isoformat()
        return party

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.errors or not self.has_changed():
            return cleaned
        try:
            party = validate_input(RelatedPartyInputSerializer, self.wire())
            services.validate_related_parties([party])
        except CRMError as error:
            self.add_error(None, f"{error.spec.title} ({error.code}): {error.message}")
        return cleaned

    def _post_clean(self) -> None:
        """The party is written by the alias service, not by the form (the model's encrypted
        document and hash columns are its business)."""


class NewRelatedPartyInline(_AliasPermissionsInline, admin.TabularInline):
    """Blank rows to append parties (`alias_update` with `relatedParties`)."""

    model = RelatedParty
    form = NewRelatedPartyForm
    fields = ("party_document", "name", "role", "start_date", "end_date")
    verbose_name = "new related party"
    verbose_name_plural = "Add related parties"
    extra = 1
    can_delete = False

    def get_queryset(self, request):
        return RelatedParty.objects.none()


# --- alias admin -------------------------------------------------------------------------------


@admin.register(AliasAccount)
class AliasAccountAdmin(RegistryAdmin):
    form = AliasForm
    audit_object_type = services.OBJECT_TYPE
    hard_delete_permission = "aliases.hard_delete_aliasaccount"
    inlines = (RelatedPartyInline, NewRelatedPartyInline)
    list_display = (
        "record_id",
        "holder_link",
        "account_id",
        "ledger_id",
        "masked_document",
        "type",
        "organization",
        "created",
        "state",
    )
    list_display_links = None
    list_filter = ("type", OrganizationFilter, StateFilter)
    list_per_page = 50
    ordering = ("-id",)
    search_fields = ("id",)  # shows the search box; `get_search_results` does the searching
    search_help_text = (
        "Alias or holder id, account id, ledger id, banking account, IBAN, holder document, "
        "participant or related-party document (any formatting)."
    )
    readonly_fields = (
        "id",
        "holder_link",
        "ledger_id",
        "account_id",
        "type",
        "full_document",
        "organization_id",
        "created_at",
        "updated_at",
        "deleted_at",
    )
    actions = ("soft_delete_selected", "restore_selected", "hard_delete_selected")

    def get_inline_instances(self, request, obj=None):
        # Parties are added once the alias exists (the add page creates the alias only).
        return super().get_inline_instances(request, obj) if obj is not None else []

    def get_changelist(self, request, **kwargs):
        from django.contrib.admin.views.main import ChangeList

        class AliasChangeList(ChangeList):
            def get_queryset(self, request, exclude_parameters=None):
                # The list decrypts only the document.
                return (
                    super()
                    .get_queryset(request, exclude_parameters)
                    .defer("banking_details_private", "participant_document")
                )

        return AliasChangeList

    @admin.display(description="holder")
    def holder_link(self, alias: AliasAccount):
        url = reverse("admin:holders_holder_change", args=[alias.holder_id])
        return format_html('<a href="{}">{}</a>', url, alias.holder_id)

    @admin.display(description="document")
    def masked_document(self, alias: AliasAccount) -> str:
        return mask_document(alias.document)

    @admin.display(description="document")
    def full_document(self, alias: AliasAccount) -> str:
        return alias.document

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        organization = selected_organization(request)
        organizations = (
            [organization]
            if organization is not None
            else list(
                AliasAccount.all_objects.order_by()
                .values_list("organization_id", flat=True)
                .distinct()
            )
        )
        match = Q(organization_id__in=organizations) & (Q(account_id=term) | Q(ledger_id=term))
        term_uuid = _as_uuid(term)
        if term_uuid is not None:
            match |= Q(id=term_uuid) | Q(holder_id=term_uuid)
        if canonical(term):

            def hashes(field: str) -> list[str]:
                return [
                    digest for org in organizations for digest in lookup_hashes(org, field, term)
                ]

            match |= (
                Q(document_hash__in=hashes(DOCUMENT_FIELD))
                | Q(banking_account_hash__in=hashes(BANKING_ACCOUNT_FIELD))
                | Q(banking_iban_hash__in=hashes(BANKING_IBAN_FIELD))
                | Q(participant_document_hash__in=hashes(PARTICIPANT_DOCUMENT_FIELD))
                | Q(
                    id__in=RelatedParty.objects.filter(
                        document_hash__in=hashes(RELATED_PARTY_DOCUMENT_FIELD)
                    ).values("alias_id")
                )
            )
        return queryset.filter(match), False

    # --- change form -------------------------------------------------------------------------

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            identity = ("holder_id", "ledgerId", "accountId")
        else:
            identity = ("holder_link", "ledger_id", "account_id", "type", "full_document")
        fieldsets = [
            ("Account", {"fields": identity}),
            ("Banking details", {"fields": tuple(spec.name for spec in BANKING)}),
            ("Regulatory fields", {"fields": tuple(spec.name for spec in REGULATORY)}),
            ("Metadata", {"fields": ("metadata",)}),
        ]
        if obj is not None:
            fieldsets.append(
                (
                    "Record",
                    {"fields": ("id", "organization_id", "created_at", "updated_at", "deleted_at")},
                )
            )
        return fieldsets

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else ()

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            alias = services.alias_create(
                organization_id=form.organization_id,
                holder_id=form.cleaned_data["holder_id"],
                data=form.payload,
            )
        elif form.payload:
            alias = services.alias_update(
                organization_id=obj.organization_id,
                holder_id=obj.holder_id,
                alias_id=obj.id,
                patch=form.payload,
            )
        else:
            return
        adopt(obj, alias)

    def save_formset(self, request, form, formset, change) -> None:
        alias = form.instance
        ids = {"organization_id": alias.organization_id, "holder_id": alias.holder_id}
        if formset.model is not RelatedParty:
            return super().save_formset(request, form, formset, change)
        # Read by Django's change message (which names what changed, never values).
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        if isinstance(formset.form, type) and issubclass(formset.form, NewRelatedPartyForm):
            parties = [
                validate_input(RelatedPartyInputSerializer, party_form.wire())
                for party_form in formset.forms
                if party_form.has_changed()
            ]
            if parties:
                services.alias_update(alias_id=alias.id, patch={"relatedParties": parties}, **ids)
            return None
        for party_form in formset.deleted_forms:
            services.related_party_remove(
                alias_id=alias.id, related_party_id=party_form.instance.pk, **ids
            )
        return None

    # --- deletion ----------------------------------------------------------------------------

    def _ids(self, alias: AliasAccount) -> dict[str, Any]:
        return {
            "organization_id": alias.organization_id,
            "holder_id": alias.holder_id,
            "alias_id": alias.id,
        }

    def service_soft_delete(self, alias: AliasAccount) -> None:
        services.alias_soft_delete(**self._ids(alias))

    def service_restore(self, alias: AliasAccount) -> None:
        services.alias_restore(**self._ids(alias))

    def service_hard_delete(self, alias: AliasAccount) -> dict[str, list[uuid.UUID]]:
        return {"alias": services.alias_hard_delete(**self._ids(alias))}

    def erased_models(self):
        return {"alias": AliasAccount}

    def erasure_rows(self, alias: AliasAccount) -> list[dict[str, Any]]:
        rows = [
            {
                "kind": "Alias account",
                "id": alias.pk,
                "url": reverse("admin:aliases_aliasaccount_change", args=[alias.pk]),
                "details": f"holder {alias.holder_id} · account {alias.account_id} · "
                f"ledger {alias.ledger_id}",
                "deleted": alias.deleted_at is not None,
                "child": False,
            }
        ]
        for party in alias.related_parties.order_by("id").only("id", "role"):
            rows.append(
                {
                    "kind": "Related party",
                    "id": party.pk,
                    "url": None,
                    "details": party.get_role_display(),
                    "deleted": alias.deleted_at is not None,
                    "child": True,
                }
            )
        return rows


# --- the holder page lists its aliases ----------------------------------------------------------


class AliasInline(admin.TabularInline):
    """Read-only summary of a holder's aliases (live and soft-deleted), with links."""

    model = AliasAccount
    fk_name = "holder"
    fields = ("alias_link", "account_id", "ledger_id", "branch", "created_at", "state")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    verbose_name_plural = "Alias accounts"

    def get_queryset(self, request):
        return AliasAccount.all_objects.only(
            "id",
            "holder_id",
            "account_id",
            "ledger_id",
            "banking_branch",
            "created_at",
            "deleted_at",
        ).order_by("id")

    @admin.display(description="alias")
    def alias_link(self, alias: AliasAccount):
        url = reverse("admin:aliases_aliasaccount_change", args=[alias.pk])
        return format_html('<a href="{}">{}</a>', url, alias.pk)

    @admin.display(description="branch")
    def branch(self, alias: AliasAccount) -> str:
        return alias.banking_branch or "—"

    @admin.display(description="state")
    def state(self, alias: AliasAccount):
        return state_badge(alias)

    def has_view_permission(self, request, obj=None) -> bool:
        return True

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class HolderWithAliasesAdmin(HolderAdmin):
    """The holder admin with its aliases inline (registered here: `holders` may not import
    `aliases`)."""

    inlines = (*HolderAdmin.inlines, AliasInline)

    def get_inline_instances(self, request, obj=None):
        return super().get_inline_instances(request, obj) if obj is not None else []


admin.site.unregister(Holder)
admin.site.register(Holder, HolderWithAliasesAdmin)


def _as_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None
