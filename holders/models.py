"""Holder: the natural or legal person behind ledger accounts, keyed by a tax document.

Storage choices (docs/api.md §4, §7):
* `name`, `document` and the whole `contact` object are personal data: encrypted columns.
* `addresses` is plaintext (docs/api.md §7.1) and stored as one JSON column in the wire shape.
* `naturalPerson` and `legalPerson` mix plaintext and personal fields, so each is two columns:
  the plaintext JSON, and an encrypted JSON with only `motherName`/`fatherName`, resp.
  `representative.name/document/email` (see `crm.api.documents`). Nested objects are JSON rather
  than tables because they are always read and written whole with their holder, never queried.
* `document_hash` is the document's search hash: the only way to look a document up, and the
  column of the "one live holder per document per organization" constraint.
* `HolderNameToken` rows are the search hashes of each word's prefixes from 3 characters, and
  of each shorter word itself (a blind word index), so the back-office can find a holder by a
  word of an encrypted name, or by its beginning ("conc" finds "Conceição"). Each is stored as
  its first 64 bits (`name_token`): a holder has ~12-19 of them, so their two indexes are most
  of the registry's index volume, and 8 bytes instead of 64 characters keeps them a third of
  the size (bulk loads, index cache) while a false match stays improbable (about one in 10^12
  lookups at 10^7 tokens).
* The *contact hashes* (`CONTACT_HASHES`) are the search hashes of every e-mail address
  (`contact.primaryEmail`, `contact.secondaryEmail`, `legalPerson.representative.email`;
  casefolded) and phone number (`contact.mobilePhone`, `contact.otherPhone`; E.164), one column
  each, so staff find a holder by any of them however it is spelled.
"""

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from crm.api.documents import Path
from crm.crypto.encryption import EncryptedJSONField, EncryptedTextField
from crm.crypto.metadata_index import MetadataPair
from crm.crypto.search import canonical_email, canonical_phone, exact, search_hash
from crm.db.rows import Replace, Row, insert_rows
from crm.models import DELETED, LIVE, RegistryModel

NATURAL_PERSON_PRIVATE: list[Path] = [("motherName",), ("fatherName",)]
LEGAL_PERSON_PRIVATE: list[Path] = [
    ("representative", "name"),
    ("representative", "document"),
    ("representative", "email"),
]


# Search-hash field names (part of the HMAC message, so hashes of different fields never match).
DOCUMENT_FIELD = "holder.document"
NAME_WORD_FIELD = "holder.name.word"
NAME_PREFIX_FIELD = "holder.name.prefix"
EMAIL_FIELD = "holder.contact.primaryEmail"
SECONDARY_EMAIL_FIELD = "holder.contact.secondaryEmail"
REPRESENTATIVE_EMAIL_FIELD = "holder.legalPerson.representative.email"
PHONE_FIELD = "holder.contact.mobilePhone"
OTHER_PHONE_FIELD = "holder.contact.otherPhone"
# Name prefixes are indexed from 3 characters (shorter ones would match half the registry and
# tell a dump too much) up to 20 (a longer search term is cut to 20 characters).
PREFIX_MIN, PREFIX_MAX = 3, 20
_WORD = re.compile(r"[^\W_]+")


def name_words(text: str) -> set[str]:
    """The normalised words of a name (casefolded, accents stripped), for the name word index:
    "José da Silva-Araújo" -> {"jose", "da", "silva", "araujo"}."""
    stripped = "".join(
        char
        for char in unicodedata.normalize("NFKD", text.casefold())
        if not unicodedata.combining(char)
    )
    return set(_WORD.findall(stripped))


def stored_terms(word: str) -> set[tuple[str, str]]:
    """The (hash field, value) pairs the name index stores for one normalised word: its
    prefixes of 3 to 20 characters ("silva" -> "sil", "silv", "silva"), or the word itself when
    it is shorter than a prefix ("da"). `search_term` reads exactly one of them."""
    if len(word) < PREFIX_MIN:
        return {(NAME_WORD_FIELD, word)}
    return {
        (NAME_PREFIX_FIELD, word[:end]) for end in range(PREFIX_MIN, min(len(word), PREFIX_MAX) + 1)
    }


def search_term(word: str) -> tuple[str, str]:
    """The (hash field, value) a normalised search word is looked up as: its prefix cut to 20
    characters, or the word itself when it is shorter than a prefix. A search word of 3+
    characters therefore finds every word it begins ("conc" finds "conceicao")."""
    if len(word) < PREFIX_MIN:
        return NAME_WORD_FIELD, word
    return NAME_PREFIX_FIELD, word[:PREFIX_MAX]


def name_token(digest: str) -> int:
    """The stored form of a name-index search hash (hex): its first 64 bits as a signed
    integer, the range of a PostgreSQL `bigint`."""
    return int.from_bytes(bytes.fromhex(digest[:16]), "big", signed=True)


def name_token_hashes(organization_id, name: str) -> set[int]:
    """The name word index of a name (current hash key): the `name_token` of the search hash
    of every `stored_terms` pair of its words (all the hashes first, then their tokens)."""
    terms = [term for word in name_words(name) for term in stored_terms(word)]
    digests = [search_hash(organization_id, field, value) for field, value in terms]
    return {name_token(digest) for digest in digests}


@dataclass(frozen=True)
class ContactHash:
    """One searchable e-mail address or phone number of a holder: where the value is (the
    holder attribute, then keys into its JSON), the column of its search hash and the hash's
    field name. `phone` picks the canonical form: E.164 for a phone, casefolded for an
    e-mail (`crm.crypto.search`)."""

    column: str
    field: str
    path: tuple[str, ...]
    phone: bool = False

    @property
    def form(self) -> Callable[[str], str]:
        return canonical_phone if self.phone else canonical_email

    def value(self, holder: "Holder") -> str:
        found: Any = getattr(holder, self.path[0])
        for key in self.path[1:]:
            found = found.get(key) if isinstance(found, dict) else None
        return found if isinstance(found, str) else ""

    def stored_hash(self, organization_id, value: str) -> str | None:
        """The hash stored for `value` (current hash key), None when it is blank."""
        if not value:  # most holders leave most of these blank: no parsing for nothing
            return None
        canonical = self.form(value)
        if not canonical:
            return None
        return search_hash(organization_id, self.field, canonical, form=exact)


# Every e-mail address and phone number of a holder, each searchable by its own hash column.
CONTACT_HASHES = (
    ContactHash("email_hash", EMAIL_FIELD, ("contact", "primaryEmail")),
    ContactHash("secondary_email_hash", SECONDARY_EMAIL_FIELD, ("contact", "secondaryEmail")),
    ContactHash(
        "representative_email_hash",
        REPRESENTATIVE_EMAIL_FIELD,
        ("legal_person_private", "representative", "email"),
    ),
    ContactHash("phone_hash", PHONE_FIELD, ("contact", "mobilePhone"), phone=True),
    ContactHash("other_phone_hash", OTHER_PHONE_FIELD, ("contact", "otherPhone"), phone=True),
)
EMAIL_HASHES = tuple(spec for spec in CONTACT_HASHES if not spec.phone)
PHONE_HASHES = tuple(spec for spec in CONTACT_HASHES if spec.phone)


class HolderType(models.TextChoices):
    NATURAL_PERSON = "NATURAL_PERSON", _("Natural person")
    LEGAL_PERSON = "LEGAL_PERSON", _("Legal person")


def holder_type_label(value: str) -> str:
    """The human label of a holder type ("Natural person"), for a column without model
    choices (an alias's type is its holder's); an unknown value as it is."""
    return str(HolderType(value).label) if value in HolderType.values else value


class Holder(RegistryModel):
    """A person or company of one organization. Soft-deleted holders keep their row (and may be
    restored) until hard-deleted; the document becomes reusable as soon as the holder is
    soft-deleted."""

    external_id = models.CharField(  # noqa: DJ001 (absent != "")
        _("external id"), max_length=256, null=True, blank=True
    )
    type = models.CharField(_("type"), max_length=16, choices=HolderType.choices)
    name = EncryptedTextField()
    document = EncryptedTextField()
    document_hash = models.CharField(max_length=64)
    # The contact hashes (`CONTACT_HASHES`): NULL where the holder has no such value.
    email_hash = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    secondary_email_hash = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    representative_email_hash = models.CharField(  # noqa: DJ001
        max_length=64, null=True, blank=True
    )
    phone_hash = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    other_phone_hash = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    addresses = models.JSONField(null=True, blank=True)
    contact = EncryptedJSONField(null=True, blank=True)
    natural_person = models.JSONField(null=True, blank=True)
    natural_person_private = EncryptedJSONField(null=True, blank=True)
    legal_person = models.JSONField(null=True, blank=True)
    legal_person_private = EncryptedJSONField(null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True)

    # `crm.lifecycle.save_unique` turns a violation of these constraints into their 409.
    unique_error_codes = {"holder_document_unique_live": "CRM-0010"}
    # How the lifecycle core names the kind (`crm.lifecycle.kinds`): audit entries, change
    # events and idempotency records say "holder"; `manage.py hard_delete holders …`.
    record_kind = "holder"
    record_kind_plural = "holders"
    erasure_details = ("type",)  # plaintext columns an erasure plan shows

    class Meta:
        ordering = ["id"]
        verbose_name = _("holder")
        verbose_name_plural = _("holders")
        constraints = [
            models.UniqueConstraint(
                fields=["organization_id", "document_hash"],
                condition=LIVE,
                name="holder_document_unique_live",
                violation_error_message="A live holder with this document already exists.",
            ),
        ]
        indexes = [
            models.Index(
                fields=["organization_id", "id"],
                condition=LIVE,
                name="holder_org_live_idx",
            ),
            models.Index(fields=["organization_id", "id"], name="holder_org_all_idx"),
            # Equality filters: (organization, value, id) so a filtered page is read in id order
            # straight from the index (no sort of every match, keyset `id > cursor` as a bound).
            models.Index(
                fields=["organization_id", "document_hash", "id"], name="holder_document_id_idx"
            ),
            models.Index(
                fields=["organization_id", "external_id", "id"], name="holder_external_id_id_idx"
            ),
            models.Index(
                fields=["organization_id", "email_hash", "id"], name="holder_email_id_idx"
            ),
            models.Index(
                fields=["organization_id", "phone_hash", "id"], name="holder_phone_id_idx"
            ),
            # The values few holders have: only the rows that have one are indexed.
            *(
                models.Index(
                    fields=["organization_id", column, "id"],
                    condition=models.Q(**{f"{column}__isnull": False}),
                    name=name,
                )
                for column, name in (
                    ("secondary_email_hash", "holder_email2_id_idx"),
                    ("representative_email_hash", "holder_rep_email_id_idx"),
                    ("other_phone_hash", "holder_phone2_id_idx"),
                )
            ),
            # Retention purges select soft-deleted rows by age.
            models.Index(
                fields=["deleted_at"],
                condition=DELETED,
                name="holder_deleted_at_idx",
            ),
        ]
        # Django's add/change/view, plus the back-office's own steps (staff roles: `staff`).
        permissions = [
            ("soft_delete_holder", "Can soft-delete and restore a holder"),
            ("export_holder", "Can export holders to CSV"),
            (
                "export_unmasked_holder",
                "Can export holders with full documents (with a reason, audited)",
            ),
            ("hard_delete_holder", "Can erase a holder for good (hard delete)"),
        ]

    def __str__(self) -> str:
        # Never personal data: admin log messages and audit views print this.
        return gettext("Holder %(id)s") % {"id": self.id}

    @property
    def display_name(self) -> str:
        """How staff recognise the holder on admin pages: name and masked document
        ("Maria Silva · ***.***.789-00"). Personal data: for pages, never for logs."""
        from crm.crypto.masking import mask_document

        return f"{self.name} · {mask_document(self.document)}"

    def name_token_hashes(self) -> set[int]:
        """The name word index of the current name (`name_token_hashes`, current hash key)."""
        return name_token_hashes(self.organization_id, self.name or "")

    def contact_hashes(self) -> dict[str, str | None]:
        """Every contact hash column's value for the current contact and representative
        (`CONTACT_HASHES`, current hash key)."""
        return {
            spec.column: spec.stored_hash(self.organization_id, spec.value(self))
            for spec in CONTACT_HASHES
        }

    def sync_contact_hashes(self) -> list[str]:
        """Set the contact hash columns from the contact and the representative; returns the
        names that changed."""
        changed = []
        for name, value in self.contact_hashes().items():
            if getattr(self, name) != value:
                setattr(self, name, value)
                changed.append(name)
        return changed

    def name_token_rows(self, tokens: Iterable[int] | None = None) -> list[Row]:
        """The name word index rows of the current name (or of these token hashes)."""
        tokens = self.name_token_hashes() if tokens is None else tokens
        return [
            Row(
                HolderNameToken,
                {
                    "holder_id": self.pk,
                    "organization_id": self.organization_id,
                    "token_hash": token,
                },
            )
            for token in sorted(tokens)
        ]

    def name_token_replacement(self) -> Replace:
        """The stored name word index made that of the current name, as a part of the write
        that changes the name (`crm.lifecycle.update`): nothing read first."""
        return Replace(
            HolderNameToken, ("holder_id", self.pk), "token_hash", self.name_token_rows()
        )

    def sync_name_tokens(self) -> bool:
        """Make the stored name word index of this saved holder match the current name; True
        when it changed. (A new holder's rows are written with it: `name_token_rows`.)"""
        wanted = self.name_token_hashes()
        stored = set(self.name_tokens.values_list("token_hash", flat=True))
        if wanted == stored:
            return False
        if stored - wanted:
            self.name_tokens.filter(token_hash__in=stored - wanted).delete()
        insert_rows(self.name_token_rows(wanted - stored))
        return True

    def recompute_search_hashes(self) -> list[str]:
        """Recompute every search hash with the current hash key (key rotation); returns the
        names of the hash columns that changed. The name word index (its own table) is
        rewritten here and reported as "name_tokens"; the other names need saving."""
        changed = []
        new = search_hash(self.organization_id, DOCUMENT_FIELD, self.document)
        if new != self.document_hash:
            self.document_hash = new
            changed.append("document_hash")
        changed += self.sync_contact_hashes()
        if self.sync_name_tokens():
            changed.append("name_tokens")
        return changed


class HolderNameToken(models.Model):
    """One word (or word prefix) of a holder's name as a search hash (blind index), so staff
    can find a holder by a word of the name while the name itself stays encrypted. Words are
    casefolded and stripped of accents; the hash includes the organization, like every search
    hash, and is stored as its first 64 bits (`name_token`).
    Maintained by `holders.services` on create and update; erased with the holder (CASCADE:
    the tokens are derived from the holder and must not outlive it).

    Like the metadata pair rows, an index entry with no database foreign key (`db_constraint`
    off): the rows are written only in the statement that writes their holder and erased
    with it (`crm.lifecycle.erasure`, checked by the erasure tests), as an index's entries
    are; the constraint's check at commit, one per row, cost a create holder 0.06 ms of the
    database's CPU (a fifth of it) and a lock record in the WAL (docs/performance.md)."""

    # Keyed by (holder, token): the key's index serves lookups by holder; no surrogate id,
    # whose index would be one more entry to write per token.
    pk = models.CompositePrimaryKey("holder", "token_hash")
    holder = models.ForeignKey(
        "holders.Holder",
        on_delete=models.CASCADE,
        related_name="name_tokens",
        db_index=False,
        db_constraint=False,
    )
    organization_id = models.UUIDField()
    token_hash = models.BigIntegerField()

    class Meta:
        ordering = ["holder", "token_hash"]
        indexes = [
            # Covering, in holder order: a search reads the newest holders of a token from
            # the index alone and stops (`crm.admin.searching`).
            models.Index(
                fields=["organization_id", "token_hash", "holder"],
                name="holder_name_token_holder_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"Name token of holder {self.holder_id}"


class HolderMetadataPair(MetadataPair):
    """A holder's metadata pair in the pair index (`crm.crypto.metadata_index`); an index
    entry with no database foreign key, as the name tokens (`HolderNameToken`)."""

    # One row per (record, pair); the key's index is also the one erasure and updates find
    # rows by (instead of the foreign key's own).
    pk = models.CompositePrimaryKey("holder", "pair_hash")
    holder = models.ForeignKey(
        "holders.Holder",
        on_delete=models.CASCADE,
        related_name="metadata_pairs",
        db_index=False,
        db_constraint=False,
    )

    class Meta:
        indexes = [
            models.Index(
                fields=["organization_id", "pair_hash", "holder"], name="holder_metadata_pair_idx"
            ),
        ]
