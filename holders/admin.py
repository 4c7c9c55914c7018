"""Holder back-office (docs/api.md §8).

List with masked documents; search by document (any formatting, through the search hash),
every e-mail address and phone number (their search hashes, `holders.models.CONTACT_HASHES`;
a phone in any national or international spelling), external id, holder id and words of the
name or their beginnings from 3 letters (the name word index), plus the `extra_searches` a
subclass adds; filters by type, organization and state. The change form is grouped in sections with
plain fields for every nested object, derived from the API serializers; it writes through
`holders.services`. Deletion is `RegistryAdmin`'s.

`HolderAdmin` is registered by `registry.admin`, which adds the holder's alias accounts (an
inline and a search by alias or account id): this app does not know aliases.
"""

import re
import uuid
from collections.abc import Callable
from typing import Any, ClassVar

from django import forms
from django.contrib import admin
from django.db.models import BLANK_CHOICE_DASH, QuerySet
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from crm.admin.errors import crm_error_text
from crm.admin.forms import WireField, WireForm, warn_check_digits, wire_form
from crm.admin.lists import mask_document, organization_choices, search_organizations
from crm.admin.registry import RegistryAdmin
from crm.admin.searching import all_of, newest, organization_arms, term_hashes
from crm.api.errors import CRMError
from crm.crypto.search import canonical, canonical_email, exact, phone_digits, phone_readings
from crm.ids import parse_uuid
from events import outbox
from holders import selectors, services
from holders.models import (
    DOCUMENT_FIELD,
    EMAIL_HASHES,
    PHONE_HASHES,
    Holder,
    HolderNameToken,
    HolderType,
    name_token,
    name_words,
    search_term,
)
from holders.serializers import (
    HolderCreateSerializer,
    HolderSerializer,
    HolderUpdateSerializer,
)

# A search term that may be a phone number: digits and the usual separators, 6+ digits.
PHONE_TERM = re.compile(r"\+?[\d\s().\-]+")
PHONE_MIN_DIGITS = 6

ADDRESS_SLOTS = (
    ("primary", _("Primary address")),
    ("additional1", _("Additional address 1")),
    ("additional2", _("Additional address 2")),
)

ADD_IDENTITY = (WireField(("type",), _("Type")), WireField(("document",), _("Document")))
IDENTITY = (WireField(("name",), _("Name")), WireField(("externalId",), _("External id")))
CONTACT = (
    WireField(("contact", "primaryEmail"), _("Primary e-mail")),
    WireField(("contact", "secondaryEmail"), _("Secondary e-mail")),
    WireField(("contact", "mobilePhone"), _("Mobile phone")),
    WireField(("contact", "otherPhone"), _("Other phone")),
)
ADDRESSES = {
    slot: (
        WireField(("addresses", slot, "line1"), _("Line 1")),
        WireField(("addresses", slot, "line2"), _("Line 2")),
        WireField(("addresses", slot, "zipCode"), _("Zip code")),
        WireField(("addresses", slot, "city"), _("City")),
        WireField(("addresses", slot, "state"), pgettext_lazy("address", "State")),
        WireField(("addresses", slot, "country"), _("Country")),
        WireField(("addresses", slot, "description"), _("Description")),
    )
    for slot, _title in ADDRESS_SLOTS
}
NATURAL_PERSON = (
    WireField(("naturalPerson", "favoriteName"), _("Favorite name")),
    WireField(("naturalPerson", "socialName"), _("Social name")),
    WireField(("naturalPerson", "gender"), _("Gender")),
    WireField(("naturalPerson", "birthDate"), _("Birth date")),
    WireField(("naturalPerson", "civilStatus"), _("Civil status")),
    WireField(("naturalPerson", "nationality"), _("Nationality")),
    WireField(("naturalPerson", "motherName"), _("Mother's name")),
    WireField(("naturalPerson", "fatherName"), _("Father's name")),
    WireField(("naturalPerson", "status"), _("Status")),
)
LEGAL_PERSON = (
    WireField(("legalPerson", "tradeName"), _("Trade name")),
    WireField(("legalPerson", "activity"), _("Activity")),
    WireField(("legalPerson", "type"), _("Company type")),
    WireField(("legalPerson", "foundingDate"), _("Founding date")),
    WireField(("legalPerson", "size"), _("Size")),
    WireField(("legalPerson", "status"), _("Status")),
    WireField(("legalPerson", "representative", "name"), _("Representative name")),
    WireField(("legalPerson", "representative", "document"), _("Representative document")),
    WireField(("legalPerson", "representative", "email"), _("Representative e-mail")),
    WireField(("legalPerson", "representative", "role"), _("Representative role")),
)
WIRE_FIELDS = (
    ADD_IDENTITY
    + IDENTITY
    + CONTACT
    + tuple(spec for slot in ADDRESSES.values() for spec in slot)
    + NATURAL_PERSON
    + LEGAL_PERSON
)


def _names(specs) -> tuple[str, ...]:
    return tuple(spec.name for spec in specs)


class HolderFormBase(WireForm):
    """Flat fields <-> the holder's wire shape (see `crm.admin.forms.WireForm`)."""

    add_only = ("organization", "type", "document")
    create_serializer = HolderCreateSerializer
    update_serializer = HolderUpdateSerializer

    organization = forms.TypedChoiceField(
        label=_("Organization"),
        help_text=_(
            "The organization (tenant) that owns the holder. An organization missing here is "
            "given its label under Organizations first."
        ),
        choices=lambda: [*BLANK_CHOICE_DASH, *organization_choices(Holder)],
        coerce=uuid.UUID,
    )

    class Meta(WireForm.Meta):
        model = Holder

    def wire_state(self, instance: Holder) -> dict[str, Any]:
        return services.holder_state(instance)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        warn_check_digits(self, ("document", "legalPerson__representative__document"))
        if (
            self.adding
            and self.payload
            and selectors.holder_document_in_use(
                organization_id=cleaned["organization"], document=self.payload["document"]
            )
        ):
            self.add_error("document", crm_error_text(CRMError("CRM-0010")))
        return cleaned


HolderForm = wire_form("HolderForm", HolderFormBase, HolderCreateSerializer, WIRE_FIELDS)

# Search contributors: (organizations, term) -> arms of holder ids (`searching.newest`).
HolderSearch = Callable[[list[uuid.UUID], str], list[QuerySet]]


class HolderAdmin(RegistryAdmin):
    form = HolderForm
    kind_name = services.OBJECT_TYPE
    hard_delete_permission = "holders.hard_delete_holder"
    inlines: ClassVar[list] = []
    inlines_near_top = True  # the alias accounts right under the identity section
    extra_searches: ClassVar[list[HolderSearch]] = []  # more arms of holder ids
    announce_erasure = staticmethod(outbox.erasure_events)
    list_display = (
        "holder_name",
        "masked_document",
        "type",
        "external_id",
        "organization",
        "created",
        "state",
    )
    list_defer = ("contact", "natural_person_private", "legal_person_private")
    search_help_text = _(
        "Document (any formatting), any e-mail or phone number (national or international), "
        "external id, holder id, alias id, account id, bank account (alone or after its "
        "branch), or words of the name (or their beginnings, from 3 letters)."
    )
    readonly_fields = (
        "id",
        "organization_id",
        "type_display",
        "document_reveal",
        "created_at",
        "updated_at",
        "deleted_at",
    )

    # --- list --------------------------------------------------------------------------------

    @admin.display(description=_("name"))
    def holder_name(self, holder: Holder):
        """The name, linked to the holder's page (the id is in the link's tooltip, and the
        search box takes it)."""
        return format_html(
            '<a href="{}" title="{}">{}</a>', self._url("change", holder.pk), holder.pk, holder.name
        )

    def search_arms(self, request, term: str) -> list:
        """Each kind of match is its own organization-scoped index read of holder ids,
        newest first (`crm.admin.searching`). Personal values are found through their search
        hashes only; no row is decrypted to search."""
        organizations = search_organizations(request, Holder)
        arms = []
        term_uuid = parse_uuid(term)
        if term_uuid is not None:
            arms.append(
                newest(Holder.all_objects.filter(organization_id__in=organizations, id=term_uuid))
            )
        arms += organization_arms(organizations, lambda orgs: self._organization_arms(orgs, term))
        return arms

    def _organization_arms(self, organizations: list[uuid.UUID], term: str) -> list:
        holders = Holder.all_objects.filter(organization_id__in=organizations)

        def hashes(field: str, value: str, **form) -> list[str]:
            return term_hashes(organizations, field, value, **form)

        arms = [newest(holders.filter(external_id=term))]
        if canonical(term):
            arms.append(newest(holders.filter(document_hash__in=hashes(DOCUMENT_FIELD, term))))
        if "@" in term:
            for spec in EMAIL_HASHES:
                email = hashes(spec.field, term, form=canonical_email)
                arms.append(newest(holders.filter(**{f"{spec.column}__in": email})))
        if PHONE_TERM.fullmatch(term) and len(phone_digits(term)) >= PHONE_MIN_DIGITS:
            readings = phone_readings(term)
            for spec in PHONE_HASHES:
                phone = [h for reading in readings for h in hashes(spec.field, reading, form=exact)]
                arms.append(newest(holders.filter(**{f"{spec.column}__in": phone})))
        words = name_words(term)
        if words:
            by_word = []
            for word in sorted(words):
                field, value = search_term(word)
                by_word.append(
                    HolderNameToken.objects.filter(
                        organization_id__in=organizations,
                        token_hash__in=[name_token(digest) for digest in hashes(field, value)],
                    )
                )
            arms.append(all_of(by_word, "holder_id"))
        for search in self.extra_searches:
            arms += search(organizations, term)
        return arms

    # --- CSV export (machinery in RegistryAdmin) --------------------------------------------

    export_columns = (
        ("id",),
        ("organizationId",),
        *(spec.path for spec in WIRE_FIELDS),
        ("metadata",),
        ("createdAt",),
        ("updatedAt",),
        ("deletedAt",),
    )

    export_masks: ClassVar[dict] = {
        ("document",): mask_document,
        ("legalPerson", "representative", "document"): mask_document,
    }

    def export_row(self, holder: Holder) -> dict[str, Any]:
        return {**HolderSerializer(holder).data, "organizationId": str(holder.organization_id)}

    # --- change form -------------------------------------------------------------------------

    def service_create(self, form) -> Holder:
        return services.holder_create(
            organization_id=form.cleaned_data["organization"], data=form.payload
        )

    def service_update(self, holder: Holder, payload: dict[str, Any], if_match=None) -> Holder:
        return services.holder_update(
            organization_id=holder.organization_id,
            holder_id=holder.id,
            patch=payload,
            if_match=if_match,
        )

    def get_fieldsets(self, request, obj=None):
        adding = obj is None
        identity = (
            ("organization", *_names(ADD_IDENTITY), *_names(IDENTITY))
            if adding
            else ("type_display", "document_reveal", *_names(IDENTITY))
        )
        fieldsets = [
            (_("Identity"), {"fields": identity}),
            (_("Contact"), {"fields": _names(CONTACT)}),
        ]
        for slot, title in ADDRESS_SLOTS:
            collapse = () if slot == "primary" else ("collapse",)
            fieldsets.append((title, {"fields": _names(ADDRESSES[slot]), "classes": collapse}))
        person_sections = (
            (HolderType.NATURAL_PERSON, _("Natural person"), NATURAL_PERSON),
            (HolderType.LEGAL_PERSON, _("Legal person"), LEGAL_PERSON),
        )
        for holder_type, title, specs in person_sections:
            if adding or obj.type == holder_type:
                classes = ("collapse",) if adding else ()
                fieldsets.append((title, {"fields": _names(specs), "classes": classes}))
        fieldsets.append((_("Metadata"), {"fields": ("metadata",)}))
        if not adding:
            fieldsets.append((_("Record"), {"fields": self.record_fields}))
        return fieldsets

    @admin.display(description=_("type"))
    def type_display(self, holder: Holder) -> str:
        return holder.get_type_display()

    # --- deletion (machinery in RegistryAdmin) ------------------------------------------------

    def service_soft_delete(self, holder: Holder) -> None:
        services.holder_soft_delete(organization_id=holder.organization_id, holder_id=holder.id)

    def service_restore(self, holder: Holder) -> None:
        services.holder_restore(organization_id=holder.organization_id, holder_id=holder.id)
