"""Holder back-office (CONTRACT §8).

List with masked documents; search by document (any formatting, through the search hash),
external id, holder id, alias id or account id, and by words of the name (the name word
index); filters by type, organization and state. The change form is grouped in sections with
plain fields for every nested object; it validates with the API's serializers and writes
through `holders.services`, so admin edits follow the API's rules and are audited once.
Soft delete, restore and hard delete (with a confirmation page and a dedicated permission)
also go through the services; Django's stock delete is off.
"""

import uuid
from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Q
from django.urls import reverse

from crm.admin import (
    OrganizationFilter,
    RegistryAdmin,
    StateFilter,
    WireField,
    WireFormMixin,
    adopt,
    country,
    date,
    mask_document,
    metadata_form_field,
    parse_metadata,
    selected_organization,
    text,
    wire_form,
)
from crm.errors import CRMError
from crm.search import canonical, lookup_hashes
from crm.serializers import validate_input
from holders import services
from holders.models import NAME_WORD_FIELD, Holder, HolderNameToken, HolderType, name_words
from holders.serializers import HolderCreateSerializer, HolderUpdateSerializer

ADDRESS_SLOTS = (
    ("primary", "Primary address"),
    ("additional1", "Additional address 1"),
    ("additional2", "Additional address 2"),
)

IDENTITY = (WireField(("name",), text("Name")), WireField(("externalId",), text("External id")))
CONTACT = (
    WireField(("contact", "primaryEmail"), text("Primary e-mail")),
    WireField(("contact", "secondaryEmail"), text("Secondary e-mail")),
    WireField(("contact", "mobilePhone"), text("Mobile phone", 50)),
    WireField(("contact", "otherPhone"), text("Other phone", 50)),
)
ADDRESSES = {
    slot: (
        WireField(("addresses", slot, "line1"), text("Line 1")),
        WireField(("addresses", slot, "line2"), text("Line 2")),
        WireField(("addresses", slot, "zipCode"), text("Zip code", 20)),
        WireField(("addresses", slot, "city"), text("City", 100)),
        WireField(("addresses", slot, "state"), text("State", 100)),
        WireField(("addresses", slot, "country"), country()),
        WireField(("addresses", slot, "description"), text("Description", 100)),
    )
    for slot, _ in ADDRESS_SLOTS
}
NATURAL_PERSON = (
    WireField(("naturalPerson", "favoriteName"), text("Favorite name")),
    WireField(("naturalPerson", "socialName"), text("Social name")),
    WireField(("naturalPerson", "gender"), text("Gender", 50)),
    WireField(("naturalPerson", "birthDate"), date("Birth date")),
    WireField(("naturalPerson", "civilStatus"), text("Civil status", 50)),
    WireField(("naturalPerson", "nationality"), text("Nationality", 100)),
    WireField(("naturalPerson", "motherName"), text("Mother's name")),
    WireField(("naturalPerson", "fatherName"), text("Father's name")),
    WireField(("naturalPerson", "status"), text("Status", 50)),
)
LEGAL_PERSON = (
    WireField(("legalPerson", "tradeName"), text("Trade name")),
    WireField(("legalPerson", "activity"), text("Activity")),
    WireField(("legalPerson", "type"), text("Company type", 100)),
    WireField(("legalPerson", "foundingDate"), date("Founding date")),
    WireField(("legalPerson", "size"), text("Size", 50)),
    WireField(("legalPerson", "status"), text("Status", 50)),
    WireField(("legalPerson", "representative", "name"), text("Representative name")),
    WireField(("legalPerson", "representative", "document"), text("Representative document")),
    WireField(("legalPerson", "representative", "email"), text("Representative e-mail")),
    WireField(("legalPerson", "representative", "role"), text("Representative role", 100)),
)
WIRE_FIELDS = (
    IDENTITY
    + CONTACT
    + tuple(spec for slot in ADDRESSES.values() for spec in slot)
    + NATURAL_PERSON
    + LEGAL_PERSON
)
ADD_ONLY = ("organization", "type", "document")


def _names(specs) -> tuple[str, ...]:
    return tuple(spec.name for spec in specs)


class HolderFormBase(WireFormMixin, forms.ModelForm):
    """Flat fields <-> the holder's wire shape. `clean()` validates with the API serializers
    and leaves the validated body in `payload` (create) or the merge patch (update);
    `HolderAdmin.save_model` hands it to the service."""

    wire_fields = WIRE_FIELDS

    organization = forms.UUIDField(
        label="Organization id", help_text="The organization (tenant) that owns the holder."
    )
    type = forms.ChoiceField(label="Type", choices=HolderType.choices)
    document = forms.CharField(
        label="Document", max_length=100, help_text="CPF or CNPJ, with or without punctuation."
    )
    metadata = metadata_form_field()

    class Meta:
        model = Holder
        fields: tuple[str, ...] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.adding = self.instance._state.adding
        self.payload: dict[str, Any] = {}
        # Only the fields the page shows take part (a hidden field would read as "cleared").
        shown = set(self._meta.fields or ())
        for name in list(self.fields):
            if name not in shown or (not self.adding and name in ADD_ONLY):
                del self.fields[name]
        if "name" in self.fields:
            self.fields["name"].required = True
        if not self.adding:
            self.before = services.holder_state(self.instance)
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
                data = {
                    "type": cleaned["type"],
                    "document": cleaned["document"],
                    **self.wire_values(),
                }
                if cleaned.get("metadata"):
                    data["metadata"] = cleaned["metadata"]
                self.payload = validate_input(HolderCreateSerializer, data)
            else:
                patch = self.wire_changes(self.before)
                self.payload = validate_input(HolderUpdateSerializer, patch) if patch else {}
        except CRMError as error:
            self.add_crm_error(error)
        return cleaned


HolderForm = wire_form("HolderForm", HolderFormBase, WIRE_FIELDS)


@admin.register(Holder)
class HolderAdmin(RegistryAdmin):
    form = HolderForm
    audit_object_type = services.OBJECT_TYPE
    list_display = (
        "record_id",
        "masked_document",
        "holder_name",
        "type",
        "external_id",
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
        "Document (any formatting), external id, holder id, alias id, account id, "
        "or words of the name."
    )
    readonly_fields = (
        "id",
        "organization_id",
        "type_display",
        "full_document",
        "created_at",
        "updated_at",
        "deleted_at",
    )
    actions = ("soft_delete_selected", "restore_selected", "hard_delete_selected")
    hard_delete_permission = "holders.hard_delete_holder"

    # --- list --------------------------------------------------------------------------------

    def get_changelist(self, request, **kwargs):
        from django.contrib.admin.views.main import ChangeList

        class HolderChangeList(ChangeList):
            def get_queryset(self, request, exclude_parameters=None):
                # The list decrypts only name and document.
                return (
                    super()
                    .get_queryset(request, exclude_parameters)
                    .defer("contact", "natural_person_private", "legal_person_private")
                )

        return HolderChangeList

    @admin.display(description="document")
    def masked_document(self, holder: Holder) -> str:
        return mask_document(holder.document)

    @admin.display(description="name")
    def holder_name(self, holder: Holder) -> str:
        return holder.name

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        organizations = self._search_organizations(request)
        match = Q(external_id=term)
        term_uuid = _as_uuid(term)
        if term_uuid is not None:
            match |= Q(id=term_uuid) | Q(
                id__in=Holder.all_objects.filter(aliases__id=term_uuid).values("id")
            )
        match |= Q(
            id__in=Holder.all_objects.filter(
                aliases__organization_id__in=organizations, aliases__account_id=term
            ).values("id")
        )
        if canonical(term):
            document_hashes = [
                digest
                for org in organizations
                for digest in lookup_hashes(org, services.DOCUMENT_FIELD, term)
            ]
            match |= Q(document_hash__in=document_hashes)
        words = name_words(term)
        if words:
            by_name = Q()
            for word in words:
                hashes = [
                    digest
                    for org in organizations
                    for digest in lookup_hashes(org, NAME_WORD_FIELD, word)
                ]
                by_name &= Q(
                    id__in=HolderNameToken.objects.filter(token_hash__in=hashes).values("holder_id")
                )
            match |= by_name
        return queryset.filter(match), False

    def _search_organizations(self, request) -> list[uuid.UUID]:
        """Search hashes include the organization: hash for the selected organization, or for
        every organization present."""
        organization = selected_organization(request)
        if organization is not None:
            return [organization]
        return list(
            Holder.all_objects.order_by().values_list("organization_id", flat=True).distinct()
        )

    # --- change form -------------------------------------------------------------------------

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            holder = services.holder_create(
                organization_id=form.cleaned_data["organization"], data=form.payload
            )
        elif form.payload:
            holder = services.holder_update(
                organization_id=obj.organization_id, holder_id=obj.id, patch=form.payload
            )
        else:
            return
        adopt(obj, holder)

    def get_fieldsets(self, request, obj=None):
        adding = obj is None
        identity = (
            ("organization", "type", "document", "name", "externalId")
            if adding
            else ("type_display", "full_document", "name", "externalId")
        )
        fieldsets = [
            ("Identity", {"fields": identity}),
            ("Contact", {"fields": _names(CONTACT)}),
        ]
        for slot, title in ADDRESS_SLOTS:
            fieldsets.append(
                (
                    title,
                    {
                        "fields": _names(ADDRESSES[slot]),
                        "classes": () if slot == "primary" else ("collapse",),
                    },
                )
            )
        show_natural = adding or obj.type == HolderType.NATURAL_PERSON
        show_legal = adding or obj.type == HolderType.LEGAL_PERSON
        if show_natural:
            fieldsets.append(
                (
                    "Natural person",
                    {
                        "fields": _names(NATURAL_PERSON),
                        "classes": ("collapse",) if adding else (),
                    },
                )
            )
        if show_legal:
            fieldsets.append(
                (
                    "Legal person",
                    {"fields": _names(LEGAL_PERSON), "classes": ("collapse",) if adding else ()},
                )
            )
        fieldsets.append(("Metadata", {"fields": ("metadata",)}))
        if not adding:
            fieldsets.append(
                (
                    "Record",
                    {
                        "fields": (
                            "id",
                            "organization_id",
                            "created_at",
                            "updated_at",
                            "deleted_at",
                        )
                    },
                )
            )
        return fieldsets

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else ()

    @admin.display(description="type")
    def type_display(self, holder: Holder) -> str:
        return holder.get_type_display()

    @admin.display(description="document")
    def full_document(self, holder: Holder) -> str:
        return holder.document

    # --- deletion (machinery in RegistryAdmin) ------------------------------------------------

    def service_soft_delete(self, holder: Holder) -> None:
        services.holder_soft_delete(organization_id=holder.organization_id, holder_id=holder.id)

    def service_restore(self, holder: Holder) -> None:
        services.holder_restore(organization_id=holder.organization_id, holder_id=holder.id)

    def service_hard_delete(self, holder: Holder) -> dict[str, list[uuid.UUID]]:
        """Operator erasure: the holder with all its aliases, live or soft-deleted."""
        return services.holder_hard_delete(
            organization_id=holder.organization_id, holder_id=holder.id, with_aliases=True
        )

    def erasure_rows(self, holder: Holder) -> list[dict[str, Any]]:
        rows = [
            {
                "kind": "Holder",
                "id": holder.pk,
                "url": reverse("admin:holders_holder_change", args=[holder.pk]),
                "details": f"{holder.get_type_display()} · document "
                f"{mask_document(holder.document)} · organization {holder.organization_id}",
                "deleted": holder.deleted_at is not None,
                "child": False,
            }
        ]
        aliases = getattr(holder, "aliases", None)
        if aliases is not None:
            for alias in (
                aliases(manager="all_objects")
                .order_by("id")
                .values("id", "account_id", "ledger_id", "deleted_at")
            ):
                rows.append(
                    {
                        "kind": "Alias account",
                        "id": alias["id"],
                        "url": None,
                        "details": f"account {alias['account_id']} · ledger {alias['ledger_id']}",
                        "deleted": alias["deleted_at"] is not None,
                        "child": True,
                    }
                )
        return rows

    def erased_models(self):
        aliases = getattr(Holder, "aliases", None)
        return {"holder": Holder, "alias": aliases.rel.related_model if aliases else None}


def _as_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None
