"""AliasAccount: the link from one Holder to one ledger account, with banking, regulatory and
related-party data (docs/api.md §4.2, §4.7-§4.9).

Storage choices (docs/api.md §4, §7):
* `document` and `type` are copied from the holder at creation; the document is encrypted and
  searchable through `document_hash`.
* `bankingDetails` is two columns (see `crm.api.documents`): the plaintext JSON (branch, type,
  dates, country, bank) and an encrypted JSON with `account` and `iban`. `banking_branch`
  repeats the branch as a plain indexed column for the `banking_details_branch` filter; account
  and iban are searchable through their hash columns only.
* `regulatoryFields` has one field, `participantDocument`: an encrypted column plus its hash.
* Related parties are rows of `RelatedParty` (not a JSON array) so the `related_party_document`
  and `related_party_role` filters are index-backed and removing a party removes its hash.

Lifecycle: created live under a live holder -> soft-deleted (account id reusable, restorable
unless the account was taken meanwhile) -> hard-deleted (row and parties gone).
"""

from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from crm.api.documents import Path
from crm.crypto.encryption import EncryptedJSONField, EncryptedTextField
from crm.crypto.masking import mask_account
from crm.crypto.metadata_index import MetadataPair
from crm.crypto.search import search_hash
from crm.ids import uuid7
from crm.models import DELETED, LIVE, RegistryModel

BANKING_DETAILS_PRIVATE: list[Path] = [("account",), ("iban",)]

# Search-hash field names (part of the HMAC message, so hashes of different fields never match).
DOCUMENT_FIELD = "alias.document"
BANKING_ACCOUNT_FIELD = "alias.bankingDetails.account"
BANKING_IBAN_FIELD = "alias.bankingDetails.iban"
PARTICIPANT_DOCUMENT_FIELD = "alias.regulatoryFields.participantDocument"
RELATED_PARTY_DOCUMENT_FIELD = "alias.relatedParties.document"

ACCOUNT_UNIQUE_CONSTRAINT = "alias_account_unique_live"


def _optional_hash(organization_id, field: str, value: str | None) -> str | None:
    return search_hash(organization_id, field, value) if value else None


class RelatedPartyRole(models.TextChoices):
    PRIMARY_HOLDER = "PRIMARY_HOLDER", _("Primary holder")
    LEGAL_REPRESENTATIVE = "LEGAL_REPRESENTATIVE", _("Legal representative")
    RESPONSIBLE_PARTY = "RESPONSIBLE_PARTY", _("Responsible party")


class AliasAccount(RegistryModel):
    """One ledger account of a holder. `accountId` is unique per organization among live
    aliases (database constraint); soft-deleted aliases keep their row until hard-deleted."""

    # PROTECT: hard deletes go through the services, which erase a holder's aliases explicitly
    # (and record the erasure) before the holder; PROTECT stops Django's stock delete (admin
    # bulk action, shell) from erasing a holder while bypassing those rules.
    holder = models.ForeignKey("holders.Holder", on_delete=models.PROTECT, related_name="aliases")
    ledger_id = models.CharField(_("ledger id"), max_length=256)
    account_id = models.CharField(_("account id"), max_length=256)
    type = models.CharField(_("type"), max_length=16)
    document = EncryptedTextField()
    document_hash = models.CharField(max_length=64)
    banking_details = models.JSONField(null=True, blank=True)
    banking_details_private = EncryptedJSONField(null=True, blank=True)
    # NULL, not "", marks an absent value: the filter columns then hold no meaningless "" key.
    banking_branch = models.CharField(max_length=256, null=True, blank=True)  # noqa: DJ001
    banking_account_hash = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    banking_iban_hash = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    participant_document = EncryptedTextField(null=True, blank=True)
    participant_document_hash = models.CharField(  # noqa: DJ001
        max_length=64, null=True, blank=True
    )
    metadata = models.JSONField(default=dict, blank=True)

    # `crm.lifecycle.save_unique` turns a violation of this constraint into its 409.
    unique_error_codes = {ACCOUNT_UNIQUE_CONSTRAINT: "CRM-0013"}
    # How the lifecycle core names the kind (`crm.lifecycle.kinds`); its parent, the holder,
    # is read from the foreign key above.
    record_kind = "alias"
    record_kind_plural = "aliases"
    erasure_details = ("account_id", "ledger_id")  # plaintext columns an erasure plan shows

    class Meta:
        ordering = ["id"]
        verbose_name = _("alias account")
        verbose_name_plural = _("alias accounts")
        constraints = [
            models.UniqueConstraint(
                fields=["organization_id", "account_id"],
                condition=LIVE,
                name=ACCOUNT_UNIQUE_CONSTRAINT,
                violation_error_message="A live alias already uses this account id.",
            ),
        ]
        indexes = [
            # Retention purges select soft-deleted rows by age.
            models.Index(
                fields=["deleted_at"],
                condition=DELETED,
                name="alias_deleted_at_idx",
            ),
            models.Index(
                fields=["organization_id", "id"],
                condition=LIVE,
                name="alias_org_live_idx",
            ),
            models.Index(fields=["organization_id", "id"], name="alias_org_all_idx"),
            # Equality filters: (organization, value, id) so a filtered page is read in id order
            # straight from the index (no sort of every match, keyset `id > cursor` as a bound).
            models.Index(fields=["organization_id", "holder", "id"], name="alias_holder_idx"),
            models.Index(
                fields=["organization_id", "account_id", "id"], name="alias_account_id_idx"
            ),
            models.Index(fields=["organization_id", "ledger_id", "id"], name="alias_ledger_id_idx"),
            models.Index(
                fields=["organization_id", "document_hash", "id"], name="alias_document_id_idx"
            ),
            models.Index(
                fields=["organization_id", "banking_branch", "id"], name="alias_branch_id_idx"
            ),
            models.Index(
                fields=["organization_id", "banking_account_hash", "id"],
                name="alias_bank_account_id_idx",
            ),
            models.Index(
                fields=["organization_id", "banking_iban_hash", "id"], name="alias_iban_id_idx"
            ),
            models.Index(
                fields=["organization_id", "participant_document_hash", "id"],
                name="alias_participant_id_idx",
            ),
        ]
        # Django's add/change/view, plus the back-office's own steps (staff roles: `staff`).
        permissions = [
            ("soft_delete_aliasaccount", "Can soft-delete and restore an alias"),
            ("export_aliasaccount", "Can export alias accounts to CSV"),
            (
                "export_unmasked_aliasaccount",
                "Can export alias accounts with full documents and account numbers "
                "(with a reason, audited)",
            ),
            ("hard_delete_aliasaccount", "Can erase an alias for good (hard delete)"),
        ]

    def __str__(self) -> str:
        # Never personal data: admin log messages and audit views print this.
        return gettext("Alias %(id)s") % {"id": self.id}

    @property
    def display_name(self) -> str:
        """How staff recognise the alias on admin pages: its bank account and its holder's
        display name ("bank 341 branch 0001 account ****187-0 · Maria Silva · ***.***.789-00").
        Personal data: for pages, never for logs; `crm.admin.naming.staff_name` adds the
        organization."""
        return f"{self.bank_account_label} · {self.holder.display_name}"

    @property
    def bank_account_label(self) -> str:
        """The account as a customer gives it: bank code, branch and account number, the
        number masked like a document (`crm.crypto.masking.mask_account`); the account id when
        it has no banking details."""
        bank = (self.banking_details or {}).get("bankId")
        parts = [
            gettext("bank %(code)s") % {"code": bank} if bank else "",
            gettext("branch %(branch)s") % {"branch": self.banking_branch}
            if self.banking_branch
            else "",
            gettext("account %(number)s") % {"number": mask_account(self.account)}
            if self.account
            else "",
        ]
        label = " ".join(part for part in parts if part)
        return label or gettext("account id %(id)s") % {"id": self.account_id}

    @property
    def account(self) -> str | None:
        return (self.banking_details_private or {}).get("account")

    @property
    def iban(self) -> str | None:
        return (self.banking_details_private or {}).get("iban")

    def recompute_search_hashes(self) -> list[str]:
        """Recompute every search hash of the alias row with the current hash key (key
        rotation); returns the names of the hash columns that changed. Related parties carry
        their own hashes: see `RelatedParty.recompute_search_hashes`."""
        org = self.organization_id
        new = {
            "document_hash": search_hash(org, DOCUMENT_FIELD, self.document),
            "banking_account_hash": _optional_hash(org, BANKING_ACCOUNT_FIELD, self.account),
            "banking_iban_hash": _optional_hash(org, BANKING_IBAN_FIELD, self.iban),
            "participant_document_hash": _optional_hash(
                org, PARTICIPANT_DOCUMENT_FIELD, self.participant_document
            ),
        }
        changed = [name for name, value in new.items() if getattr(self, name) != value]
        for name in changed:
            setattr(self, name, new[name])
        return changed


class RelatedParty(models.Model):
    """A person linked to an alias (holder, legal representative, responsible party; CCS
    "TpVinc"). Created with the alias or appended by PATCH, removed one by one (A5) or all at
    once (`"relatedParties": null`); never edited in place. Erased with its alias."""

    # Listed, with its role, on an erasure plan (`crm.lifecycle.kinds`).
    erasure_label = _("Related party")
    erasure_columns = ("role",)

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    # CASCADE: a party exists only inside its alias; erasing the alias erases its parties.
    alias = models.ForeignKey(
        AliasAccount, on_delete=models.CASCADE, related_name="related_parties"
    )
    organization_id = models.UUIDField(editable=False)
    document = EncryptedTextField()
    document_hash = models.CharField(max_length=64)
    name = models.CharField(_("name"), max_length=256)
    role = models.CharField(_("role"), max_length=32, choices=RelatedPartyRole.choices)
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"), null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("related party")
        verbose_name_plural = _("related parties")
        indexes = [
            # The alias id last: the party filters read (organization, value) -> alias ids from
            # the index alone, in alias order.
            models.Index(
                fields=["organization_id", "document_hash", "alias"],
                name="related_party_doc_alias_idx",
            ),
            models.Index(
                fields=["organization_id", "role", "alias"], name="related_party_role_alias_idx"
            ),
        ]

    def __str__(self) -> str:
        return gettext("Related party %(id)s") % {"id": self.id}

    def recompute_search_hashes(self) -> list[str]:
        """Recompute the document hash with the current hash key (key rotation)."""
        new = search_hash(self.organization_id, RELATED_PARTY_DOCUMENT_FIELD, self.document)
        if new == self.document_hash:
            return []
        self.document_hash = new
        return ["document_hash"]


class AliasMetadataPair(MetadataPair):
    """An alias's metadata pair in the pair index (`crm.crypto.metadata_index`); an index
    entry with no database foreign key, as a holder's name tokens (`HolderNameToken`)."""

    # One row per (record, pair); the key's index is also the one erasure and updates find
    # rows by (instead of the foreign key's own).
    pk = models.CompositePrimaryKey("alias", "pair_hash")
    alias = models.ForeignKey(
        AliasAccount,
        on_delete=models.CASCADE,
        related_name="metadata_pairs",
        db_index=False,
        db_constraint=False,
    )

    class Meta:
        indexes = [
            models.Index(
                fields=["organization_id", "pair_hash", "alias"], name="alias_metadata_pair_idx"
            ),
        ]
