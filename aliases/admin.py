"""Alias account back-office (docs/api.md §8), and the aliases on the holder page.

Search by alias or holder id, account id, ledger id, bank account (alone or after its branch:
`aliases.account_search`) / IBAN, holder document, participant or related-party document (the
encrypted ones through their search hashes); filters by
type, organization and state. The change form edits banking details, regulatory fields and
metadata (fields derived from the API serializers, written by `aliases.services`); related
parties are listed read-only with a remove box, and new ones are added in a second inline
(parties are appended or removed, never edited in place, as in the API).

It also holds what the holder page shows of a holder's accounts (`AliasInline`,
`holder_aliases_link`, `holders_by_alias`); `registry.admin` puts them on the holder admin.
"""

import uuid
from typing import Any, ClassVar
from urllib.parse import urlencode

from django import forms
from django.contrib import admin
from django.db.models import Q, QuerySet
from django.forms.models import BaseInlineFormSet
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from aliases import selectors, services
from aliases.account_search import account_matches
from aliases.models import (
    BANKING_IBAN_FIELD,
    DOCUMENT_FIELD,
    PARTICIPANT_DOCUMENT_FIELD,
    RELATED_PARTY_DOCUMENT_FIELD,
    AliasAccount,
    RelatedParty,
    RelatedPartyRole,
)
from aliases.serializers import (
    AliasCreateSerializer,
    AliasSerializer,
    AliasUpdateSerializer,
    RelatedPartyInputSerializer,
)
from crm.admin.errors import crm_error_text
from crm.admin.forms import (
    UUID_INPUT,
    WireField,
    WireForm,
    warn_check_digits,
    wire_form,
    wire_values,
)
from crm.admin.lists import (
    OrganizationFilter,
    StateFilter,
    choices_filter,
    mask_document,
    search_organizations,
    short_id,
    state_badge,
)
from crm.admin.registry import RegistryAdmin, adopt
from crm.admin.searching import newest, organization_arms, term_hashes
from crm.api.errors import CRMError
from crm.api.serializers import validate_input
from crm.crypto.masking import mask_account
from crm.crypto.search import canonical
from crm.ids import parse_uuid
from events import outbox
from holders.models import Holder, HolderType, holder_type_label

ADD_IDENTITY = (
    WireField(("ledgerId",), _("Ledger id")),
    WireField(("accountId",), _("Account id")),
)
BANKING = (
    WireField(("bankingDetails", "branch"), _("Branch")),
    WireField(("bankingDetails", "account"), _("Account")),
    WireField(("bankingDetails", "type"), _("Account type")),
    WireField(("bankingDetails", "openingDate"), _("Opening date")),
    WireField(("bankingDetails", "closingDate"), _("Closing date")),
    WireField(("bankingDetails", "iban"), _("IBAN")),
    WireField(("bankingDetails", "countryCode"), _("Country code")),
    WireField(("bankingDetails", "bankId"), _("Bank id")),
)
REGULATORY = (WireField(("regulatoryFields", "participantDocument"), _("Participant document")),)


class AliasFormBase(WireForm):
    """Flat fields <-> the alias wire shape (see `crm.admin.forms.WireForm`)."""

    add_only = ("holder_id", "ledgerId", "accountId")
    create_serializer = AliasCreateSerializer
    update_serializer = AliasUpdateSerializer

    holder_id = forms.UUIDField(
        label=_("Holder id"), help_text=_("The live holder to link."), widget=UUID_INPUT
    )

    class Meta(WireForm.Meta):
        model = AliasAccount

    def wire_state(self, instance: AliasAccount) -> dict[str, Any]:
        return services.alias_state(instance)

    def clean_holder_id(self) -> uuid.UUID:
        holder_id = self.cleaned_data["holder_id"]
        self.holder = Holder.objects.filter(pk=holder_id).first()
        if self.holder is None:
            raise forms.ValidationError(_("No live holder with this id."))
        return holder_id

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        warn_check_digits(self, ("regulatoryFields__participantDocument",))
        if (
            self.adding
            and self.payload
            and selectors.alias_account_in_use(
                organization_id=self.holder.organization_id, account_id=self.payload["accountId"]
            )
        ):
            self.add_error("accountId", crm_error_text(CRMError("CRM-0013")))
        return cleaned


AliasForm = wire_form(
    "AliasForm", AliasFormBase, AliasCreateSerializer, ADD_IDENTITY + BANKING + REGULATORY
)


# --- related parties ---------------------------------------------------------------------------


class _AliasPermissionsInline:
    """Inline rows of an alias are governed by the alias permissions."""

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.has_perm("aliases.view_aliasaccount") or self.has_change_permission(
            request, obj
        )

    def has_change_permission(self, request, obj=None) -> bool:
        return request.user.has_perm("aliases.change_aliasaccount") and not (
            obj is not None and obj.is_deleted
        )

    def has_add_permission(self, request, obj=None) -> bool:
        return self.has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self.has_change_permission(request, obj)


class RelatedPartyInline(_AliasPermissionsInline, admin.TabularInline):
    """The alias's parties, read-only; "Delete?" removes one through `related_party_remove`."""

    model = RelatedParty
    verbose_name = _("related party")
    verbose_name_plural = _("Related parties (tick “Delete?” to remove a party)")
    fields = ("party_id", "masked_document", "name", "role", "start_date", "end_date")
    readonly_fields = fields
    extra = 0
    max_num = 0  # no blank rows here: new parties go in the next inline

    @admin.display(description=_("id"))
    def party_id(self, party: RelatedParty) -> str:
        return str(party.pk)

    @admin.display(description=_("document"))
    def masked_document(self, party: RelatedParty) -> str:
        return mask_document(party.document)

    def has_add_permission(self, request, obj=None) -> bool:
        return False


PARTY_FIELDS = (
    WireField(("document",), _("Document")),
    WireField(("name",), _("Name")),
    WireField(("role",), _("Role")),
    WireField(("startDate",), _("Start date")),
    WireField(("endDate",), _("End date")),
)


class NewRelatedPartyFormBase(forms.ModelForm):
    """One party to append. Its fields are derived from the API's party serializer, which
    decodes it here; the party rules (CRM-0025..0029) are the service's, applied when the
    parties are appended."""

    class Meta:
        model = RelatedParty
        fields: tuple[str, ...] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.party: dict[str, Any] | None = None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.errors or not self.has_changed():
            return cleaned
        try:
            self.party = validate_input(RelatedPartyInputSerializer, wire_values(self))
        except CRMError as error:
            self.add_error(None, f"{error.spec.title} ({error.code}): {error.message}")
        warn_check_digits(self, ("document",))
        return cleaned

    def _post_clean(self) -> None:
        """The party is written by the alias service, not by the form (the model's encrypted
        document and hash columns are its business)."""


NewRelatedPartyForm = wire_form(
    "NewRelatedPartyForm", NewRelatedPartyFormBase, RelatedPartyInputSerializer, PARTY_FIELDS
)
# The role is a free string on the wire (the service answers CRM-0025 for an unknown one); staff
# pick one of the roles by name.
NewRelatedPartyForm.declared_fields["role"] = NewRelatedPartyForm.base_fields["role"] = (
    forms.ChoiceField(
        label=_("Role"), required=False, choices=[("", "—"), *RelatedPartyRole.choices]
    )
)


class NewRelatedPartyInline(_AliasPermissionsInline, admin.TabularInline):
    """Blank rows to append parties (`alias_update` with `relatedParties`)."""

    model = RelatedParty
    form = NewRelatedPartyForm
    fields = tuple(spec.name for spec in PARTY_FIELDS)
    verbose_name = _("new related party")
    verbose_name_plural = _("Add related parties")
    extra = 1
    can_delete = False

    def get_queryset(self, request):
        return RelatedParty.objects.none()


# --- alias admin -------------------------------------------------------------------------------


@admin.register(AliasAccount)
class AliasAccountAdmin(RegistryAdmin):
    form = AliasForm
    kind_name = services.OBJECT_TYPE
    hard_delete_permission = "aliases.hard_delete_aliasaccount"
    announce_erasure = staticmethod(outbox.erasure_events)
    inlines = (RelatedPartyInline, NewRelatedPartyInline)
    # The alias's type has no model choices: a fixed list, not a DISTINCT over every alias.
    list_filter = (
        choices_filter("type", _("type"), HolderType.choices),
        OrganizationFilter,
        StateFilter,
    )
    list_display = (
        "alias_link",
        "holder_link",
        "account",
        "ledger",
        "type_label",
        "organization",
        "created",
        "state",
    )
    list_defer = ("participant_document",)
    search_help_text = _(
        "Alias or holder id, account id, ledger id, bank account (alone or after its branch), "
        "IBAN, holder document, participant or related-party document (any formatting)."
    )
    readonly_fields = (
        "id",
        "holder_page_link",
        "ledger_id",
        "account_id",
        "type_label",
        "document_reveal",
        "organization_id",
        "created_at",
        "updated_at",
        "deleted_at",
    )

    def prepare_page(self, rows) -> None:
        """The page's holders in one query, for the holder column's names."""
        super().prepare_page(rows)
        holders = Holder.all_objects.only("id", "organization_id", "name", "document").in_bulk(
            {alias.holder_id for alias in rows}
        )
        for alias in rows:
            alias.page_holder = holders.get(alias.holder_id)

    @admin.display(description=_("bank account"))
    def alias_link(self, alias: AliasAccount):
        """The account as a customer gives it (bank, branch, masked number), linked to the
        alias's page (its id in the tooltip)."""
        return format_html(
            '<a href="{}" title="{}">{}</a>',
            self._url("change", alias.pk),
            alias.pk,
            alias.bank_account_label,
        )

    @admin.display(description=_("type"))
    def type_label(self, alias: AliasAccount) -> str:
        return holder_type_label(alias.type)

    @admin.display(description=_("holder"))
    def holder_link(self, alias: AliasAccount):
        """The holder as staff know it (name, masked document), linked. The alias's own
        document is its holder's, so the list has no column of its own for it (the list then
        fits 1,440 px)."""
        url = reverse("admin:holders_holder_change", args=[alias.holder_id])
        holder = getattr(alias, "page_holder", None)
        return format_html(
            '<a href="{}">{}</a>', url, holder.display_name if holder else alias.holder_id
        )

    # Account and ledger ids are UUIDs in practice: shortened like the record's own id (the
    # full value in the tooltip, and found by the search box), so the list fits 1,440 px.
    @admin.display(description=_("account id"), ordering="account_id")
    def account(self, alias: AliasAccount):
        return short_id(alias.account_id)

    @admin.display(description=_("ledger id"), ordering="ledger_id")
    def ledger(self, alias: AliasAccount):
        return short_id(alias.ledger_id)

    @admin.display(description=_("holder"))
    def holder_page_link(self, alias: AliasAccount):
        """The change page names the holder as staff know it and links back to it."""
        url = reverse("admin:holders_holder_change", args=[alias.holder_id])
        return format_html(
            '<a href="{}" id="crm-holder-link">{}</a>', url, alias.holder.display_name
        )

    def search_arms(self, request, term: str) -> list:
        """Each kind of match is its own organization-scoped index read of alias ids, newest
        first (`crm.admin.searching`)."""
        organizations = search_organizations(request, AliasAccount)
        arms = []
        term_uuid = parse_uuid(term)
        if term_uuid is not None:
            arms.append(newest(AliasAccount.all_objects.filter(id=term_uuid)))
        arms += organization_arms(
            organizations, lambda orgs: self._organization_arms(orgs, term, term_uuid)
        )
        return arms

    def _organization_arms(self, organizations, term: str, term_uuid) -> list:
        aliases = AliasAccount.all_objects.filter(organization_id__in=organizations)
        arms = [
            newest(aliases.filter(account_id=term)),
            newest(aliases.filter(ledger_id=term)),
        ]
        if term_uuid is not None:
            arms.append(newest(aliases.filter(holder_id=term_uuid)))
        if canonical(term):

            def hashes(field: str) -> list[str]:
                return term_hashes(organizations, field, term)

            arms += [
                newest(aliases.filter(document_hash__in=hashes(DOCUMENT_FIELD))),
                newest(aliases.filter(banking_iban_hash__in=hashes(BANKING_IBAN_FIELD))),
                newest(
                    aliases.filter(participant_document_hash__in=hashes(PARTICIPANT_DOCUMENT_FIELD))
                ),
                newest(
                    RelatedParty.objects.filter(
                        organization_id__in=organizations,
                        document_hash__in=hashes(RELATED_PARTY_DOCUMENT_FIELD),
                    ),
                    "alias_id",
                ),
            ]
        arms += [newest(matches) for matches in account_matches(organizations, term)]
        return arms

    # --- CSV export (machinery in RegistryAdmin) --------------------------------------------

    export_columns = (
        ("id",),
        ("holderId",),
        ("organizationId",),
        ("type",),
        ("document",),
        *(spec.path for spec in ADD_IDENTITY + BANKING + REGULATORY),
        ("relatedParties",),
        ("metadata",),
        ("createdAt",),
        ("updatedAt",),
        ("deletedAt",),
    )

    export_masks: ClassVar[dict] = {
        ("document",): mask_document,
        ("bankingDetails", "account"): mask_account,
        ("bankingDetails", "iban"): mask_account,
        ("regulatoryFields", "participantDocument"): mask_document,
        ("relatedParties", "document"): mask_document,
    }

    def export_queryset(self, queryset):
        return queryset.prefetch_related("related_parties")

    def export_row(self, alias: AliasAccount) -> dict[str, Any]:
        return {**AliasSerializer(alias).data, "organizationId": str(alias.organization_id)}

    # --- change form -------------------------------------------------------------------------

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            identity = ("holder_id", "ledgerId", "accountId")
        else:
            identity = (
                "holder_page_link",
                "ledger_id",
                "account_id",
                "type_label",
                "document_reveal",
            )
        fieldsets = [
            (_("Account"), {"fields": identity}),
            (_("Banking details"), {"fields": tuple(spec.name for spec in BANKING)}),
            (_("Regulatory fields"), {"fields": tuple(spec.name for spec in REGULATORY)}),
            (_("Metadata"), {"fields": ("metadata",)}),
        ]
        if obj is not None:
            fieldsets.append((_("Record"), {"fields": self.record_fields}))
        return fieldsets

    def service_create(self, form) -> AliasAccount:
        return services.alias_create(
            organization_id=form.holder.organization_id,
            holder_id=form.holder.pk,
            data=form.payload,
        )

    def service_update(
        self, alias: AliasAccount, payload: dict[str, Any], if_match=None
    ) -> AliasAccount:
        return services.alias_update(**self._ids(alias), patch=payload, if_match=if_match)

    def save_model(self, request, obj, form, change) -> None:
        """An edit is written with its related-party changes in `save_related`: one save of
        the page is one write and one audit entry."""
        if not change:
            super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change) -> None:
        """Write the edited fields, the parties to append and the parties ticked "Delete?"
        in one `alias_update` (nothing when nothing changed). Parties are never saved by the
        formsets themselves."""
        if not change:
            return
        patch = dict(form.payload)
        removals = []
        for formset in formsets:
            # Read by Django's change message (which names what changed, never values).
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
            if issubclass(formset.form, NewRelatedPartyFormBase):
                parties = [party_form.party for party_form in formset.forms if party_form.party]
                if parties:
                    patch["relatedParties"] = parties
            else:
                removals += [party_form.instance.pk for party_form in formset.deleted_forms]
        if not (patch or removals):
            return
        request.crm_parties_changed = bool(removals or patch.get("relatedParties"))
        try:
            written = services.alias_update(
                **self._ids(form.instance),
                patch=patch,
                remove_related_parties=removals,
                if_match=form.if_match,
            )
        except CRMError as error:
            self.refuse(request, error)
        adopt(form.instance, written)

    def construct_change_message(self, request, form, formsets, add=False):
        message = super().construct_change_message(request, form, formsets, add)
        if not message and getattr(request, "crm_parties_changed", False):
            message = [{"changed": {"fields": ["related parties"]}}]
        return message

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


# --- the holder page lists its aliases; the holder search knows alias ids and accounts ---------


ALIASES_SHOWN = 20


class FirstAliasesFormSet(BaseInlineFormSet):
    """The holder's first `ALIASES_SHOWN` aliases: a page of rows, whatever the holder has (the
    rest are a link away, in the alias list)."""

    def get_queryset(self):
        if not hasattr(self, "_first_aliases"):
            self._first_aliases = super().get_queryset()[:ALIASES_SHOWN]
        return self._first_aliases


class AliasInline(admin.TabularInline):
    """Read-only summary of a holder's first aliases (live and soft-deleted), with links."""

    model = AliasAccount
    formset = FirstAliasesFormSet
    fk_name = "holder"
    fields = ("bank", "branch", "account_link", "created_at", "state")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    verbose_name_plural = _("Alias accounts")

    def get_queryset(self, request):
        return AliasAccount.all_objects.only(
            "id",
            "holder_id",
            "account_id",
            "ledger_id",
            "banking_branch",
            "banking_details",
            "banking_details_private",
            "created_at",
            "deleted_at",
        ).order_by("id")

    @admin.display(description=_("bank"))
    def bank(self, alias: AliasAccount) -> str:
        return (alias.banking_details or {}).get("bankId") or "—"

    @admin.display(description=_("account"))
    def account_link(self, alias: AliasAccount):
        """The account number, masked (`mask_account`), linked to the alias's page (its id in
        the tooltip); the account id when the alias has no account number."""
        url = reverse("admin:aliases_aliasaccount_change", args=[alias.pk])
        number = mask_account(alias.account) if alias.account else alias.account_id
        return format_html('<a href="{}" title="{}">{}</a>', url, alias.pk, number)

    @admin.display(description=_("branch"))
    def branch(self, alias: AliasAccount) -> str:
        return alias.banking_branch or "—"

    @admin.display(description=_("state"))
    def state(self, alias: AliasAccount):
        return state_badge(alias)

    def has_view_permission(self, request, obj=None) -> bool:
        return True  # every field is read-only, max_num=0 and can_delete=False: nothing to edit


def holders_by_alias(organizations: list[uuid.UUID], term: str) -> list[QuerySet]:
    """Holders whose alias has this id or this account id, or this bank account (alone or
    after its branch: `aliases.account_search`): arms of holder ids."""
    aliases = AliasAccount.all_objects.filter(organization_id__in=organizations, account_id=term)
    term_uuid = parse_uuid(term)
    if term_uuid is not None:
        aliases = AliasAccount.all_objects.filter(
            Q(id=term_uuid) | Q(organization_id__in=organizations, account_id=term)
        )
    by_account = account_matches(organizations, term)
    return [newest(matches, "holder_id") for matches in [aliases, *by_account]]


def holder_aliases_link(holder) -> dict[str, Any]:
    """Under the holder's alias inline, when it shows only the first ones: every alias of this
    holder, in the alias list (one bounded count: `ALIASES_SHOWN` + 1 rows at most)."""
    aliases = AliasAccount.all_objects.filter(holder_id=holder.pk).order_by()
    if aliases[: ALIASES_SHOWN + 1].count() <= ALIASES_SHOWN:
        return {}
    url = reverse("admin:aliases_aliasaccount_changelist")
    return {
        "inlines_more_url": f"{url}?{urlencode({'q': str(holder.pk), 'state': 'all'})}",
        "inlines_more_label": _("All alias accounts of this holder"),
    }
